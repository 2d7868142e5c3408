// The CLI's model with the main thread's view of a worker ('thread' lines): whole-run
// numbers from it when the worker sent no final line, its windows only where the worker's
// own reporter was silent, never counted twice.
import { describe, expect, it } from 'vitest';

import { loadInternal } from './helpers/uvscope.js';

type Model = typeof import('../lib/cli/model.js');
type Summary = typeof import('../lib/cli/summary.js');
type LoopStats = import('../lib/types.js').LoopStats;
type ThreadActivity = import('../lib/types.js').ThreadActivity;
type Distribution = import('../lib/types.js').Distribution;

const { Run } = loadInternal<Model>('cli/model.js');
const { summaryData } = loadInternal<Summary>('cli/summary.js');

function dist(maxMs: number, count = 1): Distribution {
  return { count, totalMs: maxMs * count, minMs: 0, maxMs, meanMs: maxMs, p50Ms: maxMs, p90Ms: maxMs, p99Ms: maxMs, p999Ms: maxMs };
}

function stats(util: number, iterations = 10, busyMaxMs = 1): LoopStats {
  const d = dist(busyMaxMs, iterations);
  return {
    timestamp: 0, windowMs: 1000, iterations, utilization: util, activeMs: util * 1000, idleMs: (1 - util) * 1000, events: 0, eventsWaiting: 0,
    busy: d, phases: { poll: d, pollWait: dist(0, 0), check: dist(0, 0), timers: dist(0, 0) },
    handles: { total: 0, active: 0, referenced: 0, byType: {} },
    threadpool: { size: 4, busy: 0, queued: 0, queueWait: dist(0, 0) } as unknown as LoopStats['threadpool'],
  };
}

const running: ThreadActivity = { state: 'running', iteration: 12, elapsedMs: 2500, busyMs: 2500, waiting: false, kernel: { state: 'running', syscall: null } };

describe('CLI model: the main thread view of a worker', () => {
  it('fills the gap after the worker fell silent, without double counting, and takes whole-run numbers from it', () => {
    const run = new Run(0);
    const own = (i: number, util: number) =>
      run.add({ uvscope: 1, type: 'window', pid: 1, threadId: 5, time: i * 1000, final: false, stats: stats(util), slowest: [], keepAlive: {}, alive: null });
    const seen = (i: number, util: number, activity: ThreadActivity) =>
      run.add({
        uvscope: 1, type: 'thread', pid: 1, threadId: 5, time: i * 1000 + 300, final: false,
        stats: stats(util), total: { ...stats(0.8, 12, 2500), threadId: 5, ended: false }, activity,
      });
    own(1, 0.1);
    seen(1, 0.1, { ...running, state: 'idle', elapsedMs: 1, busyMs: 0 }); // own reporter alive: not used
    own(2, 0.2);
    seen(2, 1, running); // still covered by the own window ending at 2000
    seen(3, 1, running); // own silent since 2000, this window is 2300..3300: used
    seen(4, 1, running);
    const worker = run.threads.get('1-5')!;
    expect(worker.worstWindows.filter((w) => w.observed).map((w) => w.time)).toEqual([3300, 4300]);
    // Its own window for the same time arrives late: it replaces the observed one.
    own(4, 0.9);
    expect(worker.worstWindows.filter((w) => w.observed).map((w) => w.time)).toEqual([]);
    expect(worker.worstWindows).toHaveLength(3);

    const data = summaryData(run, { endTime: 5000, exitCode: 0, signal: null }, ['node']).threads[0]!;
    expect(data.iterations).toBe(12); // the main thread's whole-run view, not the own windows' 30
    expect(data.utilization).toBe(0.8);
    expect(data.busyMaxMs).toBe(2500);
    expect(data.activity).toMatchObject({ state: 'running', elapsedMs: 2500 });
  });
});
