import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { uvscope } from './helpers/uvscope.js';

describe('loopStats() windows', () => {
  it('agrees with performance.eventLoopUtilization() within 0.01 over the same window', async () => {
    // Mixed busy and idle time in a clean child loop; each window measured both ways.
    const result = await runScript(`
      const { loopStats } = require('uvscope');
      const { performance } = require('node:perf_hooks');
      const spin = (ms) => { const e = performance.now() + ms; while (performance.now() < e); };
      const out = [];
      // ELU reads 0 until the loop has started; both begin once it runs.
      let s0, e0, gap0;
      let round = 0;
      // ELU first: its read is instant, so both windows end within microseconds of each
      // other (loopStats samples before it reads anything else), unless the process is
      // preempted in between; the offset between the two samples is measured and reported.
      const begin = () => {
        const t = performance.now();
        e0 = performance.eventLoopUtilization(); s0 = loopStats();
        gap0 = s0.timestamp - t;
      };
      const tick = () => {
        const t = performance.now();
        const e1 = performance.eventLoopUtilization(e0), s1 = loopStats(s0);
        const gap = s1.timestamp - t;
        out.push([s1.utilization, e1.utilization, s1.windowMs, gap0 + gap]);
        begin();
        if (++round === 4) return console.log(JSON.stringify(out));
        for (let i = 0; i < 5; i++) setTimeout(() => spin(5 + round * 8), i * 40);
        setTimeout(tick, 230);
      };
      setImmediate(() => {
        begin();
        setTimeout(tick, 100);
      });
    `);
    expect(result.stderr).toBe('');
    const rows = JSON.parse(result.stdout) as [number, number, number, number][];
    expect(rows).toHaveLength(4);
    for (const [ours, node, windowMs, gapMs] of rows) {
      expect(windowMs).toBeGreaterThan(90);
      // 0.01, plus what a preemption between the paired samples can shift (microseconds on
      // an idle machine; milliseconds under a sanitizer on a saturated one).
      expect(gapMs).toBeGreaterThanOrEqual(0);
      expect(Math.abs(ours - node)).toBeLessThanOrEqual(0.01 + gapMs / windowMs);
    }
    // The windows really differ in load, so agreement is not trivial.
    expect(Math.max(...rows.map((r) => r[1])) - Math.min(...rows.map((r) => r[1]))).toBeGreaterThan(0.1);
  });

  it('gives contiguous windows whose counts add up to the cumulative ones', () => {
    const a = uvscope.loopStats();
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    spin(5);
    const b = uvscope.loopStats();
    const window = uvscope.loopStats(a);
    expect(window.iterations).toBe(b.iterations - a.iterations);
    expect(window.busy.count).toBe(b.busy.count - a.busy.count);
    expect(window.windowMs).toBeGreaterThan(b.windowMs - a.windowMs);
    expect(window.timestamp).toBeGreaterThan(b.timestamp);
    expect(window.timestamp).toBeLessThanOrEqual(performance.now());
    expect(Math.abs(window.activeMs + window.idleMs - window.windowMs)).toBeLessThan(1e-6);
  });

  it('never resets on read: independent readers see consistent windows', async () => {
    const first = uvscope.loopStats();
    const second = uvscope.loopStats();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const w1 = uvscope.loopStats(first);
    const w2 = uvscope.loopStats(second);
    // Both windows end now (no iteration runs between the synchronous calls); the first
    // starts earlier. Neither read disturbed the other.
    expect(w1.iterations).toBe(w2.iterations);
    expect(w1.timestamp - w1.windowMs).toBeLessThan(w2.timestamp - w2.windowMs);
    expect(w1.busy.count).toBe(w2.busy.count);
    expect(w2.iterations).toBeGreaterThan(0);
    // Both windows cover the wait. (Whether the loop slept during it depends on the test
    // runner's own activity; idle accounting is tested in clean child processes above.)
    expect(w2.windowMs).toBeGreaterThanOrEqual(29);
    expect(w2.idleMs + w2.activeMs).toBeCloseTo(w2.windowMs, 6);
  });

  it('reports events where libuv has uv_metrics_info, null elsewhere', () => {
    const stats = uvscope.loopStats();
    if (uvscope.runtime().metricsInfo) {
      expect(typeof stats.events).toBe('number');
      expect(typeof stats.eventsWaiting).toBe('number');
    } else {
      expect(stats.events).toBeNull();
    }
  });

  it('rejects a since that is not one of its snapshots', () => {
    expect(() => uvscope.loopStats({} as never)).toThrow(TypeError);
    expect(() => uvscope.loopStats(structuredClone(uvscope.loopStats()))).toThrow(/since must be a LoopStats/);
  });
});
