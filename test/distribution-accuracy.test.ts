import { describe, expect, it } from 'vitest';

import { loadInternal } from './helpers/uvscope.js';

const dist = loadInternal<typeof import('../lib/distribution.js')>('distribution.js');
const { binding } = loadInternal<typeof import('../lib/binding.js')>('binding.js');
const native = binding();
const layout = native.histogramLayout;

function image(values: number[]) {
  return dist.readImage(layout, native.histogramOf(Float64Array.from(values)));
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

// Deterministic log-normal-ish durations from 50 ns to ~10 s.
function samples(n: number, seed: number): number[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, () => Math.floor(50 * Math.exp(rand() * Math.log(2e8))));
}

describe('log-linear histogram', () => {
  it('puts every value in a bucket whose bounds hold it, with width <= 1/64 of the value', () => {
    for (const v of [0, 1, 63, 64, 65, 127, 128, 1000, 123_456_789, 2 ** 41 + 12345]) {
      const img = image([v]);
      expect(img.used).toBe(1);
      const index = img.index[0]!;
      expect(dist.bucketLow(layout, index)).toBeLessThanOrEqual(v);
      expect(dist.bucketHigh(layout, index)).toBeGreaterThanOrEqual(v);
      expect(dist.bucketHigh(layout, index) - dist.bucketLow(layout, index) + 1).toBeLessThanOrEqual(Math.max(1, v / 64));
    }
  });

  it('reports percentiles within 1% of the exact ones, and exact count, sum, min and max', () => {
    const values = samples(20_000, 7);
    const sorted = [...values].sort((a, b) => a - b);
    const d = dist.toDistribution(layout, image(values), 1e-6);
    expect(d.count).toBe(values.length);
    expect(d.totalMs).toBeCloseTo(values.reduce((a, b) => a + b, 0) * 1e-6, 6);
    expect(d.minMs).toBe(sorted[0]! * 1e-6);
    expect(d.maxMs).toBe(sorted.at(-1)! * 1e-6);
    for (const [q, got] of [[0.5, d.p50Ms], [0.9, d.p90Ms], [0.99, d.p99Ms], [0.999, d.p999Ms]] as const) {
      const exact = exactQuantile(sorted, q) * 1e-6;
      expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(0.01);
    }
  });

  it('gives the window between two cumulative images', () => {
    const before = samples(5_000, 1);
    const during = [...samples(5_000, 2).map((v) => v + 1_000_000), 3e10]; // 3e10 > every earlier value
    const earlier = image(before);
    const later = image([...before, ...during]);
    const window = dist.subtract(layout, later, earlier);
    const sorted = [...during].sort((a, b) => a - b);
    const d = dist.toDistribution(layout, window, 1e-6);
    expect(d.count).toBe(during.length);
    expect(d.totalMs).toBeCloseTo(during.reduce((a, b) => a + b, 0) * 1e-6, 6);
    // The window holds the run's maximum, so max is exact; min is a bucket bound.
    expect(d.maxMs).toBe(3e10 * 1e-6);
    expect(Math.abs(d.minMs - sorted[0]! * 1e-6) / (sorted[0]! * 1e-6)).toBeLessThanOrEqual(0.016);
    const exact = exactQuantile(sorted, 0.99) * 1e-6;
    expect(Math.abs(d.p99Ms - exact) / exact).toBeLessThanOrEqual(0.01);
  });

  it('is empty for an empty window, and clamps values beyond its range into the last bucket', () => {
    const a = image([5, 10]);
    expect(dist.toDistribution(layout, dist.subtract(layout, a, a), 1e-6)).toEqual(dist.emptyDistribution());
    const huge = image([2 ** 50]);
    expect(dist.countAt(huge, layout.buckets - 1)).toBe(1);
    expect(huge.max).toBe(2 ** 50);
  });

  it('gives windows and raw histograms from sparse images exactly as from dense buckets', () => {
    // The dense reference: the buckets native histogramOf() writes, subtracted bucket by bucket.
    const dense = (values: number[]) => native.histogramOf(Float64Array.from(values)).subarray(layout.header, layout.header + layout.buckets);
    const denseQuantile = (counts: Float64Array, count: number, min: number, max: number, q: number) => {
      if (count === 0) return 0;
      const rank = Math.max(1, Math.ceil(q * count));
      let seen = 0;
      for (let i = 0; i < layout.buckets; i++) {
        seen += counts[i]!;
        if (seen >= rank) return Math.min(max, Math.max(min, (dist.bucketLow(layout, i) + dist.bucketHigh(layout, i)) / 2));
      }
      return max;
    };
    for (const [seedA, seedB, extra] of [[3, 4, 0], [5, 6, 1e9], [8, 9, 20]] as const) {
      const before = samples(2_000, seedA);
      const during = samples(300, seedB).map((v) => v + extra);
      const earlier = image(before);
      const later = image([...before, ...during]);
      const a = dense(before);
      const b = dense([...before, ...during]);
      const counts = b.map((n, i) => Math.max(0, n - a[i]!));
      const first = counts.findIndex((n) => n > 0);
      const last = counts.findLastIndex((n) => n > 0);
      const count = later.count - earlier.count;
      const min = later.min < earlier.min ? later.min : Math.max(dist.bucketLow(layout, first), later.min);
      const max = later.max > earlier.max ? later.max : Math.min(dist.bucketHigh(layout, last), later.max);
      const got = dist.windowDistribution(layout, later, earlier, 1e-6);
      expect(got).toEqual(dist.toDistribution(layout, dist.subtract(layout, later, earlier), 1e-6));
      expect(got.count).toBe(count);
      expect(got.minMs).toBe(min * 1e-6);
      expect(got.maxMs).toBe(max * 1e-6);
      expect([got.p50Ms, got.p90Ms, got.p99Ms, got.p999Ms]).toEqual(
        [0.5, 0.9, 0.99, 0.999].map((q) => denseQuantile(counts, count, min, max, q) * 1e-6),
      );
      // Every non-empty bucket, in order, as the raw form lists them.
      const raw = dist.rawHistogram(layout, later);
      const nonEmpty = [...b.keys()].filter((i) => b[i]! > 0);
      expect(raw.buckets.map((x) => x.count)).toEqual(nonEmpty.map((i) => b[i]!));
      expect(raw.buckets.map((x) => x.lowNs)).toEqual(nonEmpty.map((i) => dist.bucketLow(layout, i)));
    }
  });

  it('rejects values the native side cannot record', () => {
    expect(() => native.histogramOf(new Float64Array([-1]))).toThrow(RangeError);
    expect(() => native.histogramOf(new Float64Array([Number.NaN]))).toThrow(RangeError);
    expect(() => native.histogramOf([1, 2] as unknown as Float64Array)).toThrow(TypeError);
  });
});
