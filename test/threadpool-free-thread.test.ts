// A probe that waited long beside free pool threads did not wait for a thread, whatever the
// run queue says: a pool thread can be slow to run for reasons schedstat's run delay does not
// count (the hypervisor running another guest, a page fault on a loaded machine). Before,
// such a wait counted as a wait for a thread and the CLI said "thread pool saturated" with
// every thread idle. Here the pool's threads are stopped with ptrace (not runnable, so the
// run queue sees nothing) while the probe's item waits.
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from './helpers/child.js';
import { loadInternal, root } from './helpers/uvscope.js';

type Model = typeof import('../lib/cli/model.js');
type LoopStats = import('../lib/types.js').LoopStats;
type ThreadpoolStats = import('../lib/types.js').ThreadpoolStats;

const { poolSaturated } = loadInternal<Model>('cli/model.js');

describe('thread pool: a wait beside free threads', () => {
  it('counts the whole wait as not waiting for a thread, and the CLI rule does not call it saturation', async () => {
    const helper = path.join(root, 'test', 'helpers', 'freeze-pool.py');
    const { code, stdout, stderr } = await runNode([path.join(root, 'test', 'fixtures', 'pool-freeze.cjs'), helper, '/usr/bin/python3']);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout.trim()) as { code: number; stopped: number; window: ThreadpoolStats };
    expect(out.code, stderr).toBe(0);
    expect(out.stopped).toBeGreaterThanOrEqual(1);
    const w = out.window;
    // The situation itself: the probe's item waited through the freeze.
    expect(w.queueWait.maxMs, JSON.stringify(w)).toBeGreaterThanOrEqual(100);
    expect(w.busy).toBe(0);
    // All of it is counted as a wait with a free thread (same value, same bucket: equal).
    expect(w.cpuWait.maxMs, JSON.stringify(w)).toBe(w.queueWait.maxMs);
    expect(poolSaturated({ threadpool: w } as LoopStats)).toBe(false);
  });
});
