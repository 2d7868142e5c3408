import { describe, expect, it } from 'vitest';

import { loadInternal, uvscope } from './helpers/uvscope.js';

const dist = loadInternal<typeof import('../lib/distribution.js')>('distribution.js');
const { binding } = loadInternal<typeof import('../lib/binding.js')>('binding.js');
const native = binding();
const layout = native.histogramLayout;

const spin = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('raw cumulative histograms', () => {
  it('gives each value a bucket whose edges hold it, and counts that add up', () => {
    const values = [0, 1, 63, 64, 65, 127, 128, 1000, 1001, 123_456_789, 2 ** 41 + 12345, 2 ** 43];
    const raw = dist.rawHistogram(layout, dist.readImage(layout, native.histogramOf(Float64Array.from(values))));
    expect(raw.count).toBe(values.length);
    expect(raw.buckets.reduce((n, b) => n + b.count, 0)).toBe(values.length);
    expect(raw.sumNs).toBe(values.reduce((a, b) => a + b, 0));
    expect(raw.minNs).toBe(0);
    expect(raw.maxNs).toBe(2 ** 43);
    for (const v of values) {
      const holders = raw.buckets.filter((b) => b.lowNs <= v && v <= b.highNs);
      expect(holders, `value ${v}`).toHaveLength(1);
    }
    // Ascending and disjoint; the last bucket takes everything past the range.
    for (let i = 1; i < raw.buckets.length; i++) expect(raw.buckets[i]!.lowNs).toBeGreaterThan(raw.buckets[i - 1]!.highNs);
    expect(raw.buckets.at(-1)!.highNs).toBe(Infinity);
  });

  it('agrees with loopStats() on this thread and never resets', async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 5));
      spin(3);
    }
    const stats = uvscope.loopStats();
    const first = uvscope.loopHistograms();
    const mine = first.find((t) => t.current)!;
    expect(mine).toBeDefined();
    expect(mine.threadId).toBe(0);
    // Same tick, same thread: the recorder has not moved between the two reads.
    expect(mine.iterations).toBe(stats.iterations);
    expect(mine.busy.count).toBe(stats.busy.count);
    expect(mine.busy.sumNs / 1e6).toBeCloseTo(stats.busy.totalMs, 6);
    expect(mine.phases.timers.count).toBe(stats.phases.timers.count);
    expect(mine.busy.maxNs / 1e6).toBeCloseTo(stats.busy.maxMs, 6);
    expect(mine.busy.maxNs).toBeGreaterThanOrEqual(3e6);
    // Read a moment later than loopStats(): the window grew by the time between the two reads.
    expect(Math.abs(mine.activeMs + mine.idleMs - stats.windowMs - (mine.timestamp - stats.timestamp))).toBeLessThan(0.01);
    expect(mine.activeMs + mine.idleMs).toBeCloseTo(mine.timestamp - mine.startTimestamp, 3);
    expect(mine.startTimestamp).toBeLessThan(mine.timestamp);

    await new Promise((r) => setTimeout(r, 20));
    const second = uvscope.loopHistograms().find((t) => t.current)!;
    expect(second.busy.count).toBeGreaterThan(mine.busy.count);
    // Cumulative: every bucket only grows.
    const later = new Map(second.busy.buckets.map((b) => [b.lowNs, b.count]));
    for (const b of mine.busy.buckets) expect(later.get(b.lowNs) ?? 0).toBeGreaterThanOrEqual(b.count);
  });

  it('reads the thread pool\'s histograms, in step with threadpool()', async () => {
    uvscope.configureThreadpool({ probeIntervalMs: 5 });
    // The probe submits only while the loop iterates: keep it iterating.
    const busy = setInterval(() => {}, 2);
    await new Promise((r) => setTimeout(r, 150));
    clearInterval(busy);
    const stats = uvscope.threadpool();
    const raw = uvscope.threadpoolHistograms();
    expect(raw.queueWait.count).toBeGreaterThan(0);
    expect(raw.queueWait.count).toBeGreaterThanOrEqual(stats.queueWait.count);
    expect(raw.queueWait.count - stats.queueWait.count).toBeLessThanOrEqual(1); // a probe may complete between the reads
    uvscope.configureThreadpool({ probeIntervalMs: 100 });
  });
});
