// loopStats(): snapshots of this thread's loop, cumulative or over a window.
import { performance } from 'node:perf_hooks';

import type { NativeBinding } from './binding.js';
import { type HistogramImage, emptyImage, readImage, subtract, toDistribution } from './distribution.js';
import { invalidArgType } from './errors.js';
import type { Distribution, HandleSummary, LoopStats, ThreadpoolStats } from './types.js';

/** The parts of a snapshot that other components provide. */
export interface LoopSources {
  handles(): HandleSummary;
  threadpool(since?: ThreadpoolStats): ThreadpoolStats;
}

/** One native read: counters since recording started and the cumulative histograms. */
interface RawRead {
  hrNs: number;
  iterations: number;
  idleNs: number;
  events: number | null;
  eventsWaiting: number | null;
  images: HistogramImage[]; // busy, poll, pollWait, check, timers
}

const NS_TO_MS = 1e-6;

/** `performance.now()` minus `uv_hrtime()` in ms: both clocks run on uv_hrtime. */
export function perfOffsetMs(): number {
  return performance.now() - Number(process.hrtime.bigint()) * NS_TO_MS;
}

export function makeLoopStats(native: NativeBinding, sources: LoopSources) {
  const layout = native.loopLayout;
  const histogram = native.histogramLayout;
  const buffer = new Float64Array(layout.size);
  const offsetMs = perfOffsetMs();
  // Each snapshot remembers its raw read, so a later call can subtract it.
  const raws = new WeakMap<LoopStats, RawRead>();

  const read = (): RawRead => {
    native.loopRead(buffer);
    const images: HistogramImage[] = [];
    for (let i = 0; i < layout.images; i++) {
      images.push(readImage(histogram, buffer, layout.header + i * (histogram.header + histogram.buckets)));
    }
    const nullable = (value: number) => (Number.isNaN(value) ? null : value);
    return {
      hrNs: buffer[2]!,
      iterations: buffer[4]!,
      idleNs: buffer[5]!,
      events: nullable(buffer[6]!),
      eventsWaiting: nullable(buffer[7]!),
      images,
    };
  };

  native.loopRead(buffer);
  const start: RawRead = {
    hrNs: buffer[3]!,
    iterations: 0,
    idleNs: 0,
    events: Number.isNaN(buffer[6]!) ? null : 0,
    eventsWaiting: Number.isNaN(buffer[7]!) ? null : 0,
    images: Array.from({ length: layout.images }, () => emptyImage(histogram)),
  };

  return function loopStats(since?: LoopStats): LoopStats {
    let base = start;
    if (since !== undefined) {
      const earlier = typeof since === 'object' && since !== null ? raws.get(since) : undefined;
      if (earlier === undefined) throw invalidArgType('since', 'a LoopStats returned by loopStats() or watch() on this thread', since);
      base = earlier;
    }
    const now = read();
    const windowMs = (now.hrNs - base.hrNs) * NS_TO_MS;
    const idleMs = Math.min(windowMs, Math.max(0, (now.idleNs - base.idleNs) * NS_TO_MS));
    const activeMs = windowMs - idleMs;
    const dist = (i: number): Distribution =>
      toDistribution(histogram, base === start ? now.images[i]! : subtract(histogram, now.images[i]!, base.images[i]!), NS_TO_MS);
    const difference = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
    const stats: LoopStats = {
      timestamp: now.hrNs * NS_TO_MS + offsetMs,
      windowMs,
      iterations: now.iterations - base.iterations,
      utilization: windowMs > 0 ? activeMs / windowMs : 0,
      activeMs,
      idleMs,
      events: difference(now.events, base.events),
      eventsWaiting: difference(now.eventsWaiting, base.eventsWaiting),
      busy: dist(0),
      phases: { poll: dist(1), pollWait: dist(2), check: dist(3), timers: dist(4) },
      handles: sources.handles(),
      threadpool: sources.threadpool(since?.threadpool),
    };
    raws.set(stats, now);
    return stats;
  };
}
