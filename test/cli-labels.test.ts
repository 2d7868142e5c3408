// Which thread the CLI shows in detail, and how it names threads: the application's (not
// npx's or npm's; its main thread over a pool worker when the main thread did work),
// workers by their script, `node --test` with its flags. Pure functions of constructed lines.
import { describe, expect, it } from 'vitest';

import { loadInternal } from './helpers/uvscope.js';

type Model = typeof import('../lib/cli/model.js');
type Render = typeof import('../lib/cli/render.js');
type Summary = typeof import('../lib/cli/summary.js');
type Distribution = import('../lib/types.js').Distribution;
type LoopStats = import('../lib/types.js').LoopStats;

const { Run } = loadInternal<Model>('cli/model.js');
const { renderLive } = loadInternal<Render>('cli/render.js');
const { renderSummary } = loadInternal<Summary>('cli/summary.js');

const dist = (maxMs: number, totalMs = maxMs, count = 10): Distribution => ({
  count, totalMs, minMs: 0, maxMs, meanMs: totalMs / count, p50Ms: maxMs / 10, p90Ms: maxMs / 2, p99Ms: maxMs, p999Ms: maxMs,
});
function stats(util: number): LoopStats {
  return {
    timestamp: 0, windowMs: 1000, iterations: 100, utilization: util, activeMs: util * 1000, idleMs: (1 - util) * 1000,
    events: 10, eventsWaiting: 0, busy: dist(20, util * 1000),
    phases: { poll: dist(1, 100), pollWait: dist(100, 500), check: dist(1, 10), timers: dist(1, 10) },
    handles: { total: 5, active: 3, referenced: 1, byType: { tcp: 1 } },
    threadpool: { size: 4, busy: 0, queued: 0, queueWait: dist(0.1, 1, 5) },
  } as unknown as LoopStats;
}

const start = 1_000_000;
type R = InstanceType<typeof Run>;
function thread(run: R, o: { pid: number; threadId?: number; argv: string[]; execArgv?: string[]; util: number; windowArgv?: string[] }) {
  const threadId = o.threadId ?? 0;
  run.add({ uvscope: 1, type: 'start', pid: o.pid, ppid: 1, threadId, argv: threadId === 0 ? o.argv : ['/usr/bin/node'], execArgv: o.execArgv ?? [], node: 'v22', uv: '1.51.0', time: start });
  for (let i = 1; i <= 5; i++) {
    run.add({
      uvscope: 1, type: 'window', pid: o.pid, threadId, time: start + i * 1000, final: false, stats: stats(o.util), slowest: [],
      keepAlive: {}, alive: null, ...(i === 1 && threadId !== 0 ? { argv: o.argv } : {}),
    });
  }
}
const summary = (run: R) => renderSummary(run, { endTime: start + 6000, exitCode: 0, signal: null }, { command: ['npx', 'x'], width: Infinity, color: false });
const live = (run: R) => renderLive(run, { width: 200, now: start + 5500, command: ['npx', 'x'], color: false });
/** The first thread the summary details: its heading line. */
const detailed = (lines: string[]) => lines.find((l) => /^pid \d+/.test(l));

describe('the thread shown in detail', () => {
  it("is the application's, not npx's (npm's start-up is busier than a quiet server)", () => {
    const run = new Run(start);
    thread(run, { pid: 10, argv: ['/usr/bin/node', '/usr/lib/node_modules/npm/bin/npx-cli.js', 'uvscope-demo'], util: 0.5 });
    thread(run, { pid: 11, argv: ['/usr/bin/node', '/srv/app/server.js'], util: 0.05 });
    expect(detailed(summary(run))).toBe('pid 11: node /srv/app/server.js');
    expect(live(run)[0]).toMatch(/pid 11 · /);
  });

  it("is the main thread, not a pool worker, when the main thread did work too", () => {
    const run = new Run(start);
    thread(run, { pid: 20, argv: ['/usr/bin/node', '/srv/app/server.js'], util: 0.3 });
    thread(run, { pid: 20, threadId: 1, argv: ['/usr/bin/node', '/srv/app/pool.js'], util: 0.9 });
    expect(detailed(summary(run))).toBe('pid 20: node /srv/app/server.js');
    expect(live(run)[0]).toMatch(/pid 20 · /);
  });

  it('is the worker when the main thread only handed it work', () => {
    const run = new Run(start);
    thread(run, { pid: 30, argv: ['/usr/bin/node', '/srv/app/batch.js'], util: 0.001 });
    thread(run, { pid: 30, threadId: 1, argv: ['/usr/bin/node', '/srv/app/pool.js'], util: 0.9 });
    expect(detailed(summary(run))).toBe('pid 30 worker 1 (pool.js): node /srv/app/pool.js');
  });
});

describe('thread names', () => {
  it('a worker by its script, known from its first window (its start line had only `node`)', () => {
    const run = new Run(start);
    thread(run, { pid: 40, argv: ['/usr/bin/node', '/srv/app/server.js'], util: 0.5 });
    thread(run, { pid: 40, threadId: 3, argv: ['/usr/bin/node', '/srv/app/resize.js'], util: 0.2 });
    thread(run, { pid: 40, threadId: 4, argv: ['/usr/bin/node', '[worker eval]'], util: 0.2 });
    expect(live(run).find((l) => l.startsWith('also'))).toMatch(/pid 40 worker 3 \(resize\.js\) 20% .* pid 40 worker 4 \(eval\) 20%/);
    expect(summary(run).join('\n')).toMatch(/pid 40 worker 3 \(resize\.js\)/);
  });

  it('`node --test` with its flags, which process.argv leaves out', () => {
    const run = new Run(start);
    thread(run, { pid: 50, argv: ['/usr/bin/node', 'test/a.test.js'], execArgv: ['--test', '--test-concurrency=1'], util: 0.5 });
    expect(detailed(summary(run))).toBe('pid 50: node --test --test-concurrency=1 test/a.test.js');
  });
});
