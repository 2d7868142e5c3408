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
 * A histogram image: what native `CopyTo()` writes, or the difference of two of them, kept
 * sparse (only the non-empty buckets: typically tens of the layout's ~2,400). Snapshots keep
 * their images for any later `since`, several per read, so a dense copy per image was most
 * of a read's allocation and, freed in a sawtooth, kept RSS tens of MB up.
 * Values are in the recorder's unit (ns or clock ticks); `toDistribution` converts.
 */
export interface HistogramImage {
  count: number;
  sum: number;
  /** Smallest value recorded (exact for a cumulative image; a bound for a window). */
  min: number;
  /** Largest value recorded (exact for a cumulative image; a bound for a window). */
  max: number;
  /** The non-empty buckets' indices, ascending; the first `used` entries are valid. */
  index: ArrayLike<number>;
  /** Their counts (> 0), in the same order. */
  counts: ArrayLike<number>;
  /** How many entries of `index` and `counts` are in use. */
  used: number;
}

const HEADER_COUNT = 0;
const HEADER_SUM = 1;
const HEADER_MIN = 2;
const HEADER_MAX = 3;

/** Reads the image at `offset` in `data` (copying the non-empty buckets, so `data` may be reused). */
export function readImage(layout: HistogramLayout, data: Float64Array, offset = 0): HistogramImage {
  const start = offset + layout.header;
  const end = start + layout.buckets;
  // Plain arrays, not typed ones: a few hundred bytes on the JS heap, which the GC compacts,
  // instead of a malloc'd backing store per image.
  const index: number[] = [];
  const counts: number[] = [];
  for (let i = start; i < end; i++) {
    const n = data[i]!;
    if (n > 0) {
      index.push(i - start);
      counts.push(n);
    }
  }
  return {
    count: data[offset + HEADER_COUNT] ?? 0,
    sum: data[offset + HEADER_SUM] ?? 0,
    min: data[offset + HEADER_MIN] ?? 0,
    max: data[offset + HEADER_MAX] ?? 0,
    index,
    counts,
    used: index.length,
  };
}

/** The `count` images that follow each other from `offset` in `data` (a native read). */
export function readImages(layout: HistogramLayout, data: Float64Array, offset: number, count: number): HistogramImage[] {
  const images: HistogramImage[] = [];
  for (let i = 0; i < count; i++) images.push(readImage(layout, data, offset + i * (layout.header + layout.buckets)));
  return images;
}

/** Bucket `index`'s count in `image` (0 when empty). */
export function countAt(image: HistogramImage, index: number): number {
  for (let k = 0; k < image.used; k++) {
    const i = image.index[k]!;
    if (i === index) return image.counts[k]!;
    if (i > index) break;
  }
  return 0;
}

/** A window's buckets, reused by every windowDistribution() call: a window never escapes it. */
let scratch: HistogramImage | undefined;

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
  if (earlier === undefined) return toDistribution(layout, now, msPerUnit);
  if (scratch === undefined || scratch.index.length < layout.buckets) {
    scratch = { count: 0, sum: 0, min: 0, max: 0, index: new Uint32Array(layout.buckets), counts: new Float64Array(layout.buckets), used: 0 };
  }
  return toDistribution(layout, subtractInto(layout, now, earlier, scratch), msPerUnit);
}

/** An image with nothing recorded. */
export function emptyImage(_layout: HistogramLayout): HistogramImage {
  return { count: 0, sum: 0, min: 0, max: 0, index: [], counts: [], used: 0 };
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
  // Arrays that grow as subtractInto() appends (it writes entries 0, 1, ... in order).
  const into: HistogramImage = { count: 0, sum: 0, min: 0, max: 0, index: [], counts: [], used: 0 };
  subtractInto(layout, later, earlier, into);
  (into.index as number[]).length = into.used;
  (into.counts as number[]).length = into.used;
  return into;
}

/**
 * subtract() into `into`: arrays that grow as entries 0, 1, ... are written, or typed
 * arrays of at least `later.used` entries (a window's non-empty buckets are among `later`'s).
 */
function subtractInto(layout: HistogramLayout, later: HistogramImage, earlier: HistogramImage, into: HistogramImage): HistogramImage {
  const index = into.index as number[] | Uint32Array;
  const counts = into.counts as number[] | Float64Array;
  let used = 0;
  let e = 0;
  for (let k = 0; k < later.used; k++) {
    const i = later.index[k]!;
    while (e < earlier.used && earlier.index[e]! < i) e++;
    const n = later.counts[k]! - (e < earlier.used && earlier.index[e] === i ? earlier.counts[e]! : 0);
    if (n > 0) {
      index[used] = i;
      counts[used] = n;
      used++;
    }
  }
  into.used = used;
  const count = Math.max(0, later.count - earlier.count);
  if (used === 0 || count === 0) {
    into.used = 0;
    into.count = into.sum = into.min = into.max = 0;
    return into;
  }
  const first = index[0]!;
  const last = index[used - 1]!;
  into.count = count;
  into.sum = Math.max(0, later.sum - earlier.sum);
  into.min = earlier.count === 0 || later.min < earlier.min ? later.min : Math.max(bucketLow(layout, first), later.min);
  into.max = later.max > earlier.max ? later.max : Math.min(bucketHigh(layout, last), later.max);
  return into;
}

/** The value at quantile `q` (0..1): the midpoint of the bucket holding that rank, clamped to [min, max]. */
export function quantile(layout: HistogramLayout, image: HistogramImage, q: number): number {
  if (image.count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * image.count));
  let seen = 0;
  for (let k = 0; k < image.used; k++) {
    seen += image.counts[k]!;
    if (seen >= rank) {
      const i = image.index[k]!;
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
  for (let k = 0; k < image.used; k++) {
    const i = image.index[k]!;
    const n = image.counts[k]!;
    count += n;
    buckets.push({ lowNs: low[i]!, highNs: high[i]!, count: n });
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
