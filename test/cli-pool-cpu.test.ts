// "Thread pool saturated" only when the pool was short of threads: on a CPU-starved machine
// an idle pool's probe waits for a CPU, which the summary names under its own heading.
import { describe, expect, it } from 'vitest';

import { fixture, runCliJson } from './helpers/cli.js';
import { loadInternal } from './helpers/uvscope.js';

type Model = typeof import('../lib/cli/model.js');
type LoopStats = import('../lib/types.js').LoopStats;
type Distribution = import('../lib/types.js').Distribution;

const { Run, poolSaturated, poolCpuWait } = loadInternal<Model>('cli/model.js');

function dist(maxMs: number, count = 1): Distribution {
  return { count, totalMs: maxMs * count, minMs: maxMs, maxMs, meanMs: maxMs, p50Ms: maxMs, p90Ms: maxMs, p99Ms: maxMs, p999Ms: maxMs };
}

function window(busy: number, queued: number, waitMs: number, cpuWaitMs: number): LoopStats {
  const none = dist(0, 0);
  return {
    timestamp: 0, windowMs: 1000, iterations: 10, utilization: 0.1, activeMs: 100, idleMs: 900, events: 0, eventsWaiting: 0,
    busy: none, phases: { poll: none, pollWait: none, check: none, timers: none },
    handles: { total: 0, active: 0, referenced: 0, byType: {} },
    threadpool: {
      timestamp: 0, size: 4, started: true, busy, queued, busySource: 'threads', queueWait: dist(waitMs), cpuWait: dist(cpuWaitMs),
      callbackDelay: none, pendingWaitMs: 0, inFlight: null, threads: null,
    },
  };
}

interface Summary {
  threads: { threadId: number; poolSaturation: unknown[]; poolCpuWait: { maxWaitMs: number; maxCpuWaitMs: number | null }[] }[];
}

describe('thread pool: saturation vs waiting for a CPU', () => {
  it('calls a wait with free threads, explained by CPU wait, not saturation', () => {
    expect(poolSaturated(window(0, 0, 150, 149))).toBe(false);
    expect(poolCpuWait(window(0, 0, 150, 149))).toBe(true);
    // Work that waited for a thread between two samples of `busy` is still saturation.
    expect(poolSaturated(window(0, 0, 150, 2))).toBe(true);
    expect(poolSaturated(window(4, 3, 0.1, 0))).toBe(true);
    expect(poolCpuWait(window(4, 0, 150, 150))).toBe(false);

    const run = new Run(0);
    for (let i = 1; i <= 3; i++) {
      run.add({ uvscope: 1, type: 'window', pid: 1, threadId: 0, time: i * 1000, final: false, stats: window(0, 0, 80, 79), slowest: [], keepAlive: {}, alive: null });
    }
    const main = run.threads.get('1-0')!;
    expect(main.saturation).toHaveLength(0);
    expect(main.cpuWait).toHaveLength(1);
    expect(main.cpuWait[0]).toMatchObject({ fromTime: 0, toTime: 3000, peakBusy: 0, maxWaitMs: 80, maxCpuWaitMs: 79 });
  });

  it('does not say saturated for an idle pool on a CPU-starved machine', async () => {
    const { code, stderr, summary, lines } = await runCliJson<Summary>(['--interval', '200', '--', process.execPath, fixture('cli-starved.cjs')], { STARVE_MS: '4000' });
    expect(code).toBe(0);
    const waits = lines
      .filter((l) => l.type === 'window' && l.threadId === 0)
      .map((l) => (l.stats as LoopStats).threadpool.queueWait)
      .filter((w) => w.count > 0)
      .map((w) => w.maxMs);
    // The situation itself: the probe waited long (for a CPU) with every pool thread idle.
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(10);
    const main = summary.threads.find((t) => t.threadId === 0)!;
    const pools = lines.filter((l) => l.type === 'window' && l.threadId === 0).map((l) => {
      const p = (l.stats as LoopStats).threadpool;
      return { busy: p.busy, queued: p.queued, waitMs: p.queueWait.maxMs, cpuWaitMs: p.cpuWait.maxMs, n: p.queueWait.count, cpuN: p.cpuWait.count };
    });
    expect(main.poolSaturation, JSON.stringify({ saturation: main.poolSaturation, pools })).toEqual([]);
    expect(stderr).toMatch(/thread pool saturated\n\s+never/);
    expect(main.poolCpuWait.length).toBeGreaterThanOrEqual(1);
    expect(stderr).toMatch(/thread pool waited for CPU/);
  });
});
