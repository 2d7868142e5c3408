// An idle program stays idle under the CLI: the reporter's own timer is its only wake-up
// per interval (the thread-pool probe, whose completion is a wake-up of its own, is off
// while the program and its pool are idle, and back on when they are not).
import { describe, expect, it } from 'vitest';

import { fixture, runCliJson } from './helpers/cli.js';

interface Window {
  type: 'window';
  threadId: number;
  final: boolean;
  stats: { iterations: number; threadpool: { queueWait: { count: number; maxMs: number } } };
}
interface Summary {
  threads: { threadId: number; poolSaturation: unknown[] }[];
}

describe('an idle program under the CLI', () => {
  it('wakes once per interval: the reporter timer, nothing else', async () => {
    const { code, lines } = await runCliJson(['--interval', '200', '--', process.execPath, fixture('cli-idle.cjs'), '3000']);
    expect(code).toBe(0);
    const windows = (lines as unknown as Window[]).filter((l) => l.type === 'window' && l.threadId === 0 && !l.final);
    expect(windows.length).toBeGreaterThanOrEqual(10);
    // After start-up (the first windows hold the program's own start and the probe's last round).
    const steady = windows.slice(4).map((w) => w.stats.iterations);
    // The reporter's own timer alone (2 with the probe's completion, as before the fix). On
    // a heavily loaded machine a slow window can switch the probe back on for a moment.
    const once = steady.filter((n) => n <= 1).length;
    expect(once / steady.length).toBeGreaterThanOrEqual(0.75);
  });

  it('still measures the pool when work arrives after a long idle stretch', async () => {
    const { code, lines, summary } = await runCliJson<Summary>(
      ['--interval', '200', '--', process.execPath, fixture('cli-idle.cjs'), '2400', 'pool'],
      { UV_THREADPOOL_SIZE: '4' },
    );
    expect(code).toBe(0);
    const windows = (lines as unknown as Window[]).filter((l) => l.type === 'window' && l.threadId === 0);
    // The probe is back: its items waited behind the pbkdf2s.
    expect(windows.some((w) => w.stats.threadpool.queueWait.count > 0)).toBe(true);
    expect(summary.threads.find((t) => t.threadId === 0)!.poolSaturation.length).toBeGreaterThan(0);
  });
});
