// What uvscope/otel and uvscope/prometheus share: one read of everything they export, the
// thread selection rule, and the mapping of uvscope's log-linear buckets onto exporters'
// buckets. Built on the public API only (loopHistograms, threadpoolHistograms, threadpool,
// handleSummary), so a vendor's own exporter can do the same.
import { isMainThread } from 'node:worker_threads';

import { handleSummary, loopHistograms, threadpool, threadpoolHistograms } from './index.js';
import type { HandleSummary, HistogramBucket, RawHistogram, ThreadHistograms, ThreadpoolHistograms, ThreadpoolStats } from './types.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import { booleanOption, optionsObject } from './validate.js';

/** Which threads a bridge reports, and whether it reports the (process-wide) thread pool. */
export interface BridgeThreadOptions {
  /**
   * `'all'`: every thread's loop, read from this thread through `loopHistograms()`, labelled by
   * thread id; `'current'`: this thread's only. Default: `'all'` on the main thread,
   * `'current'` in a worker, so that per-worker SDKs (Piscina, Platformatic) do not report
   * each other's loops.
   */
  threads?: 'all' | 'current';
  /**
   * Report the libuv thread pool. It is one per process, so the default is true on the main
   * thread only, and a process reports it once.
   */
  threadpool?: boolean;
}

export interface BridgeSelection {
  threads: 'all' | 'current';
  threadpool: boolean;
}

export function selection(options: BridgeThreadOptions): BridgeSelection {
  const threads = options.threads ?? (isMainThread ? 'all' : 'current');
  if (threads !== 'all' && threads !== 'current') {
    if (typeof threads !== 'string') throw invalidArgType('options.threads', "'all' or 'current'", threads);
    throw invalidArgValue('options.threads', "'all' or 'current'", threads);
  }
  return { threads, threadpool: booleanOption(options.threadpool, 'options.threadpool', isMainThread) };
}

/** One read of everything a bridge exports. */
export interface BridgeRead {
  /** `performance.now()` of the read. */
  timestamp: number;
  loops: ThreadHistograms[];
  /** This thread's id and handle counts (handles cannot be walked from another thread). */
  handles: { threadId: number; summary: HandleSummary };
  pool: { stats: ThreadpoolStats; histograms: ThreadpoolHistograms } | null;
}

export function read(sel: BridgeSelection): BridgeRead {
  const all = loopHistograms();
  const loops = sel.threads === 'all' ? all : all.filter((t) => t.current);
  const own = all.find((t) => t.current);
  return {
    timestamp: performance.now(),
    loops,
    handles: { threadId: own?.threadId ?? 0, summary: handleSummary() },
    pool: sel.threadpool ? { stats: threadpool(), histograms: threadpoolHistograms() } : null,
  };
}

export { optionsObject };

/** A `performance.now()` time as Unix epoch ms. */
export const epochMs = (perfMs: number) => performance.timeOrigin + perfMs;

/** A histogram kept between collections: bucket lower edges and counts in typed arrays (16 bytes a bucket). */
export interface CompactHistogram {
  count: number;
  sumNs: number;
  minNs: number;
  maxNs: number;
  low: Float64Array;
  counts: Float64Array;
}

export function compact(h: RawHistogram): CompactHistogram {
  const low = new Float64Array(h.buckets.length);
  const counts = new Float64Array(h.buckets.length);
  h.buckets.forEach((b, i) => {
    low[i] = b.lowNs;
    counts[i] = b.count;
  });
  return { count: h.count, sumNs: h.sumNs, minNs: h.minNs, maxNs: h.maxNs, low, counts };
}

/**
 * `later - earlier` of two cumulative reads of one histogram. min and max are exact where the
 * window holds the run's extreme (the cumulative value moved), otherwise bounded by the
 * edges of the first and last non-empty bucket (as `loopStats(since)` does).
 */
export function subtractRaw(later: RawHistogram, earlier: CompactHistogram | undefined): RawHistogram {
  if (earlier === undefined || earlier.count === 0) return later;
  const buckets: HistogramBucket[] = [];
  let count = 0;
  let j = 0;
  // Both ascending, and every bucket of `earlier` is in `later` (cumulative): one merge walk.
  for (const b of later.buckets) {
    while (j < earlier.low.length && earlier.low[j]! < b.lowNs) j++;
    const n = b.count - (j < earlier.low.length && earlier.low[j] === b.lowNs ? earlier.counts[j]! : 0);
    if (n > 0) {
      buckets.push({ lowNs: b.lowNs, highNs: b.highNs, count: n });
      count += n;
    }
  }
  if (count === 0) return { count: 0, sumNs: 0, minNs: 0, maxNs: 0, buckets };
  const first = buckets[0]!;
  const last = buckets[buckets.length - 1]!;
  const minNs = later.minNs < earlier.minNs ? later.minNs : Math.max(first.lowNs, later.minNs);
  const maxNs = later.maxNs > earlier.maxNs ? later.maxNs : Math.min(last.highNs, later.maxNs);
  return { count, sumNs: Math.max(0, later.sumNs - earlier.sumNs), minNs, maxNs, buckets };
}

/** What a delta exporter keeps of a thread between collections. */
export interface LoopState {
  startTimestamp: number;
  timestamp: number;
  activeMs: number;
  idleMs: number;
  iterations: number;
  events: number | null;
  /** busy, wait, then the phases in `loopHistogramsOf` order. */
  histograms: CompactHistogram[] | null;
}

export function loopState(t: ThreadHistograms, withHistograms: boolean): LoopState {
  const h = loopHistogramsOf(t);
  return {
    startTimestamp: t.startTimestamp,
    timestamp: t.timestamp,
    activeMs: t.activeMs,
    idleMs: t.idleMs,
    iterations: t.iterations,
    events: t.events,
    histograms: withHistograms ? [h.busy, h.wait, ...h.phases.map(([, x]) => x)].map(compact) : null,
  };
}

/** Where a bucket is placed when mapped onto other buckets: its midpoint, ns (the last, open bucket: the max). */
function midpointNs(b: HistogramBucket, maxNs: number): number {
  return b.highNs === Infinity ? Math.max(b.lowNs, maxNs) : (b.lowNs + b.highNs) / 2;
}

/** The value at quantile `q` (0..1), ns: the midpoint of the bucket holding that rank, clamped to [min, max]. */
export function quantileNs(h: RawHistogram, q: number): number {
  if (h.count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (const b of h.buckets) {
    seen += b.count;
    if (seen >= rank) return Math.min(h.maxNs, Math.max(h.minNs, midpointNs(b, h.maxNs)));
  }
  return h.maxNs;
}

/** Explicit (cumulative `le`) buckets: seconds, ascending; the `+Inf` bucket is implied. */
export type Boundaries = number[];

/** 10 µs … 10 s in 1-2.5-5 steps: loop phases live between a few µs and a few seconds. */
export const DEFAULT_BOUNDARIES_S: readonly number[] = [
  1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * Boundaries on uvscope's own bucket edges: four per power of two of ns from 2^13 ns
 * (8.2 µs) to 2^34 ns (17.2 s), each the inclusive upper edge (`2^k * (1 + j/4) - 1` ns) of a
 * uvscope bucket, so every uvscope bucket falls whole on one side: lossless.
 */
export const EXACT_BOUNDARIES_S: readonly number[] = (() => {
  const out: number[] = [];
  for (let k = 13; k < 34; k++) for (let j = 0; j < 4; j++) out.push((2 ** k * (1 + j / 4) - 1) / 1e9);
  out.push((2 ** 34 - 1) / 1e9);
  return out;
})();

export function boundariesOption(value: unknown, name: string): readonly number[] {
  if (value === undefined || value === 'default') return DEFAULT_BOUNDARIES_S;
  if (value === 'exact') return EXACT_BOUNDARIES_S;
  if (!Array.isArray(value)) throw invalidArgType(name, "'default', 'exact' or an array of ascending numbers (s)", value);
  value.forEach((b: unknown, i) => {
    if (typeof b !== 'number') throw invalidArgType(`${name}[${i}]`, 'a number', b);
    if (!Number.isFinite(b) || b <= 0) throw invalidArgValue(`${name}[${i}]`, 'a finite number > 0', b);
    if (i > 0 && b <= (value[i - 1] as number)) throw invalidArgValue(`${name}[${i}]`, `> ${name}[${i - 1}] (ascending)`, b);
  });
  return [...(value as number[])];
}

/**
 * Counts per explicit bucket (length `boundaries.length + 1`, not cumulative): each uvscope
 * bucket goes whole to the bucket holding its midpoint (upper bounds inclusive, as `le`).
 */
export function explicitCounts(h: RawHistogram, boundariesS: readonly number[]): number[] {
  const counts = new Array<number>(boundariesS.length + 1).fill(0);
  let j = 0;
  for (const b of h.buckets) {
    const midS = midpointNs(b, h.maxNs) * 1e-9;
    while (j < boundariesS.length && midS > boundariesS[j]!) j++;
    counts[j]! += b.count;
  }
  return counts;
}

/** An OpenTelemetry exponential histogram's buckets (positive range; values are durations). */
export interface ExponentialBuckets {
  scale: number;
  zeroCount: number;
  offset: number;
  bucketCounts: number[];
}

/**
 * Exponential buckets in seconds: each uvscope bucket whole to the exponential bucket
 * (base^i, base^(i+1)] that holds its midpoint, at scale 6 (base 2^(1/64), uvscope's own
 * resolution), downscaled until the range fits `maxSize` buckets. Counts stay integers and
 * totals exact; BRIDGES.md gives the measured error (a value at most 0.73% outside its
 * reported bucket at scale 6).
 */
export function exponentialBuckets(h: RawHistogram, maxSize: number, maxScale = 6): ExponentialBuckets {
  let zeroCount = 0;
  const indices: number[] = [];
  const counts: number[] = [];
  const perOctave = 2 ** maxScale;
  for (const b of h.buckets) {
    if (b.highNs === 0) {
      zeroCount += b.count;
      continue;
    }
    const midS = midpointNs(b, h.maxNs) * 1e-9;
    indices.push(Math.ceil(Math.log2(midS) * perOctave) - 1);
    counts.push(b.count);
  }
  if (indices.length === 0) return { scale: maxScale, zeroCount, offset: 0, bucketCounts: [] };
  const lo = indices[0]!;
  const hi = indices[indices.length - 1]!;
  let shift = 0;
  // Index i at scale s is index floor(i / 2) at scale s - 1 (pairs of buckets merge).
  while ((hi >> shift) - (lo >> shift) + 1 > maxSize) shift++;
  const offset = lo >> shift;
  const bucketCounts = new Array<number>((hi >> shift) - offset + 1).fill(0);
  for (let i = 0; i < indices.length; i++) bucketCounts[(indices[i]! >> shift) - offset]! += counts[i]!;
  return { scale: maxScale - shift, zeroCount, offset, bucketCounts };
}

/** The exported loop histograms of a thread: metric key, attribute value, histogram. */
export function loopHistogramsOf(t: ThreadHistograms) {
  return {
    busy: t.busy,
    wait: t.phases.pollWait,
    phases: [
      ['poll', t.phases.poll],
      ['check', t.phases.check],
      ['timers', t.phases.timers],
    ] as const,
  };
}
