// Decodes the native log-linear histograms (native/histogram.h) into `Distribution`s,
// and subtracts two cumulative images to get a window's distribution.
import type { Distribution, RawHistogram } from './types.js';

/** The native bucket layout, exported by the addon as `histogramLayout`. */
export interface HistogramLayout {
  /** log2 of the number of sub-buckets per power of two. */
  subBits: number;
  /** Buckets cover [0, 2^maxBits) units. */
  maxBits: number;
  /** Number of buckets. */
  buckets: number;
  /** Number of header slots (count, sum, min, max) before the buckets in an image. */
  header: number;
}

/**
 * A histogram image: what native `CopyTo()` writes, or the difference of two of them.
 * Values are in the recorder's unit (ns or clock ticks); `toDistribution` converts.
 */
export interface HistogramImage {
  count: number;
  sum: number;
  /** Smallest value recorded (exact for a cumulative image; a bound for a window). */
  min: number;
  /** Largest value recorded (exact for a cumulative image; a bound for a window). */
  max: number;
  buckets: Float64Array;
}

const HEADER_COUNT = 0;
const HEADER_SUM = 1;
const HEADER_MIN = 2;
const HEADER_MAX = 3;

/** Reads the image at `offset` in `data` (copying the buckets, so `data` may be reused). */
export function readImage(layout: HistogramLayout, data: Float64Array, offset = 0): HistogramImage {
  const start = offset + layout.header;
  return {
    count: data[offset + HEADER_COUNT] ?? 0,
    sum: data[offset + HEADER_SUM] ?? 0,
    min: data[offset + HEADER_MIN] ?? 0,
    max: data[offset + HEADER_MAX] ?? 0,
    buckets: data.slice(start, start + layout.buckets),
  };
}

/** The `count` images that follow each other from `offset` in `data` (a native read). */
export function readImages(layout: HistogramLayout, data: Float64Array, offset: number, count: number): HistogramImage[] {
  return Array.from({ length: count }, (_, i) => readImage(layout, data, offset + i * (layout.header + layout.buckets)));
}

/**
 * The distribution of `now`, a cumulative image, since `earlier` (another image of the same
 * histogram), or since recording started when `earlier` is undefined; in milliseconds.
 */
export function windowDistribution(
  layout: HistogramLayout,
  now: HistogramImage,
  earlier: HistogramImage | undefined,
  msPerUnit: number,
): Distribution {
  return toDistribution(layout, earlier === undefined ? now : subtract(layout, now, earlier), msPerUnit);
}

/** An image with nothing recorded. */
export function emptyImage(layout: HistogramLayout): HistogramImage {
  return { count: 0, sum: 0, min: 0, max: 0, buckets: new Float64Array(layout.buckets) };
}

/** Smallest value that falls in bucket `index`. */
export function bucketLow(layout: HistogramLayout, index: number): number {
  const sub = 2 ** layout.subBits;
  if (index < sub) return index;
  const shift = Math.floor((index - sub) / sub);
  return (sub + ((index - sub) % sub)) * 2 ** shift;
}

/** Largest value that falls in bucket `index` (values are integers). */
export function bucketHigh(layout: HistogramLayout, index: number): number {
  const sub = 2 ** layout.subBits;
  if (index < sub) return index;
  return bucketLow(layout, index) + 2 ** Math.floor((index - sub) / sub) - 1;
}

/**
 * The window between two cumulative images of the same histogram (`earlier` taken first).
 * min and max are exact where the window holds the run's extreme (the cumulative min or
 * max moved during the window); otherwise they are the bounds of the first and last
 * non-empty bucket, within 1.6% of the true value.
 */
export function subtract(layout: HistogramLayout, later: HistogramImage, earlier: HistogramImage): HistogramImage {
  const buckets = new Float64Array(layout.buckets);
  let first = -1;
  let last = -1;
  for (let i = 0; i < layout.buckets; i++) {
    const n = (later.buckets[i] ?? 0) - (earlier.buckets[i] ?? 0);
    if (n > 0) {
      buckets[i] = n;
      if (first < 0) first = i;
      last = i;
    }
  }
  const count = Math.max(0, later.count - earlier.count);
  if (first < 0 || count === 0) return { count: 0, sum: 0, min: 0, max: 0, buckets };
  const min = earlier.count === 0 || later.min < earlier.min ? later.min : Math.max(bucketLow(layout, first), later.min);
  const max = later.max > earlier.max ? later.max : Math.min(bucketHigh(layout, last), later.max);
  return { count, sum: Math.max(0, later.sum - earlier.sum), min, max, buckets };
}

/** The value at quantile `q` (0..1): the midpoint of the bucket holding that rank, clamped to [min, max]. */
export function quantile(layout: HistogramLayout, image: HistogramImage, q: number): number {
  if (image.count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * image.count));
  let seen = 0;
  for (let i = 0; i < layout.buckets; i++) {
    seen += image.buckets[i] ?? 0;
    if (seen >= rank) {
      const mid = (bucketLow(layout, i) + bucketHigh(layout, i)) / 2;
      return Math.min(image.max, Math.max(image.min, mid));
    }
  }
  return image.max;
}

/** A `Distribution` in milliseconds; `msPerUnit` converts the recorder's unit (1e-6 for ns). */
export function toDistribution(layout: HistogramLayout, image: HistogramImage, msPerUnit: number): Distribution {
  if (image.count === 0) return emptyDistribution();
  const ms = (value: number) => value * msPerUnit;
  return {
    count: image.count,
    totalMs: ms(image.sum),
    minMs: ms(image.min),
    maxMs: ms(image.max),
    meanMs: ms(image.sum / image.count),
    p50Ms: ms(quantile(layout, image, 0.5)),
    p90Ms: ms(quantile(layout, image, 0.9)),
    p99Ms: ms(quantile(layout, image, 0.99)),
    p999Ms: ms(quantile(layout, image, 0.999)),
  };
}

/** The distribution of nothing. */
export function emptyDistribution(): Distribution {
  return { count: 0, totalMs: 0, minMs: 0, maxMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0 };
}

/**
 * The public form of a cumulative image: non-empty buckets with their edges in ns. `count` is
 * the buckets' sum, so that it always adds up (a read racing the recording thread can see a
 * value in the header before its bucket, or the other way round).
 */
export function rawHistogram(layout: HistogramLayout, image: HistogramImage): RawHistogram {
  const { low, high } = edgesOf(layout);
  const buckets: RawHistogram['buckets'] = [];
  let count = 0;
  const counts = image.buckets;
  for (let i = 0; i < layout.buckets; i++) {
    const n = counts[i]!;
    if (n > 0) {
      count += n;
      buckets.push({ lowNs: low[i]!, highNs: high[i]!, count: n });
    }
  }
  return { count, sumNs: count === 0 ? 0 : image.sum, minNs: count === 0 ? 0 : image.min, maxNs: count === 0 ? 0 : image.max, buckets };
}

const edges = new WeakMap<HistogramLayout, { low: Float64Array; high: Float64Array }>();

/** Every bucket's edges, computed once per layout (raw reads run on every export). */
function edgesOf(layout: HistogramLayout): { low: Float64Array; high: Float64Array } {
  let e = edges.get(layout);
  if (e === undefined) {
    const low = new Float64Array(layout.buckets);
    const high = new Float64Array(layout.buckets);
    for (let i = 0; i < layout.buckets; i++) {
      low[i] = bucketLow(layout, i);
      high[i] = bucketHigh(layout, i);
    }
    // The last bucket also holds every value past the layout's range.
    high[layout.buckets - 1] = Infinity;
    e = { low, high };
    edges.set(layout, e);
  }
  return e;
}
