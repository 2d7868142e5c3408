// loopStats() and threads(): snapshots of event loops, cumulative or over a window.
import { performance } from 'node:perf_hooks';
import { threadId as ownThreadId } from 'node:worker_threads';

import type { NativeBinding } from './binding.js';
import { type HistogramImage, readImages, windowDistribution } from './distribution.js';
import { invalidArgType } from './errors.js';
import type { Distribution, HandleSummary, LoopStats, ThreadActivity, ThreadKernelState, ThreadStats, ThreadpoolStats } from './types.js';

/** The parts of a snapshot that other components provide. */
export interface LoopSources {
  handles(): HandleSummary;
  threadpool(since?: ThreadpoolStats): ThreadpoolStats;
}

/** One native read of a recorder: counters since recording started and the cumulative histograms. */
interface RawRead {
  hrNs: number;
  startHrNs: number;
  iterations: number;
  idleNs: number;
  events: number | null;
  eventsWaiting: number | null;
  ended: boolean;
  threadId: number;
  images: HistogramImage[]; // busy, poll, pollWait, check, timers
}

type LoopPart = Omit<LoopStats, 'handles' | 'threadpool'>;

const NS_TO_MS = 1e-6;

/**
 * `performance.now()` minus `uv_hrtime()`, in ms. Node computes `performance.now()` as
 * `(uv_hrtime() - timeOrigin) / 1e6` with one process-wide time origin (workers share it),
 * so the offset is a constant; it is not exposed, so it is bracketed between two
 * `process.hrtime` reads (also uv_hrtime), the tightest of a few tries: within ~0.2 µs.
 */
export function perfOffsetMs(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 16; i++) {
    const before = process.hrtime.bigint();
    const now = performance.now();
    const after = process.hrtime.bigint();
    const width = Number(after - before);
    if (width < best) {
      best = width;
      offset = now - (Number(before) + width / 2) * NS_TO_MS;
    }
  }
  return offset;
}

/** How the loop probe measures, as `runtime()` reports it. */
export interface LoopProbeInfo {
  /**
   * The probe's clock: `'tsc'` (x64: the CPU's time-stamp counter, calibrated against
   * `uv_hrtime()`; used where the kernel's clocksource is the TSC), `'cntvct'` (arm64: the
   * generic timer's virtual counter, calibrated the same way; used where the kernel's
   * clocksource is `arch_sys_counter`) or `'hrtime'` (`uv_hrtime()`).
   */
  loopClock: 'tsc' | 'cntvct' | 'hrtime';
  /**
   * How `pollWait` is read on this thread's loop: `'direct'` (libuv's idle-time counter read
   * in place, after checking its location against `uv_metrics_idle_time()` on the running
   * loop), `'locked'` (`uv_metrics_idle_time()`, which takes a mutex, where the check failed)
   * or `'verifying'` (the first iterations, read with `uv_metrics_idle_time()`).
   */
  pollWaitSource: 'direct' | 'locked' | 'verifying';
}

const POLL_WAIT_SOURCES = ['verifying', 'direct', 'locked'] as const;

/** Decodes the probe description from a loopRead() header. */
export function probeInfo(header: Float64Array): LoopProbeInfo {
  return {
    loopClock: header[0] === 1 ? 'tsc' : header[0] === 2 ? 'cntvct' : 'hrtime',
    pollWaitSource: POLL_WAIT_SOURCES[header[8]!] ?? 'locked',
  };
}

/** System calls a loop thread blocks in while it waits for events: its loop's own wait. */
const LOOP_WAIT_SYSCALLS = new Set(['epoll_wait', 'epoll_pwait', 'epoll_pwait2']);

/**
 * What a thread is doing, from a loopRead() header (12 live index, 13 live busy ns or, ended,
 * unfinished busy ns, 14 waiting, 15 live start ns, 16 ended: last completed busy ns) and,
 * for another thread that is alive, the kernel's view of it.
 */
export function threadActivity(
  header: Float64Array,
  current: boolean,
  kernelState: (tid: number) => ThreadKernelState | null,
): ThreadActivity {
  if (header[9] === 1) {
    const busyNs = Math.max(header[13]!, header[16] ?? 0);
    return { state: 'ended', iteration: null, elapsedMs: 0, busyMs: busyNs * NS_TO_MS, waiting: null, kernel: null };
  }
  const index = header[12]!;
  const waitingFlag = header[14]!;
  const waiting = waitingFlag === 1 ? true : waitingFlag === 0 ? false : null;
  const iteration = index > 0 ? index : null;
  const elapsedMs = iteration === null ? 0 : Math.max(0, (header[1]! - header[15]!) * NS_TO_MS);
  const busyMs = iteration === null ? 0 : header[13]! * NS_TO_MS;
  const tid = header[11]!;
  const kernel = current || tid <= 0 ? null : kernelState(tid);
  let state: ThreadActivity['state'];
  if (current) state = 'running'; // it is the one calling threads()
  else if (iteration === null) state = 'unknown';
  else if (waiting === true || (kernel?.syscall != null && LOOP_WAIT_SYSCALLS.has(kernel.syscall))) state = 'idle';
  else if (kernel === null) state = waiting === false ? 'busy' : 'unknown';
  else state = kernel.state === 'running' ? 'running' : 'blocked';
  return { state, iteration, elapsedMs, busyMs, waiting, kernel };
}

export function makeLoopStats(native: NativeBinding, sources: LoopSources) {
  const layout = native.loopLayout;
  const histogram = native.histogramLayout;
  const buffer = new Float64Array(layout.size);
  const offsetMs = perfOffsetMs();
  native.loopSetThreadId(ownThreadId);

  const decode = (data: Float64Array): RawRead => {
    const images = readImages(histogram, data, layout.header, layout.images);
    const nullable = (value: number) => (Number.isNaN(value) ? null : value);
    return {
      hrNs: data[2]!,
      startHrNs: data[3]!,
      iterations: data[4]!,
      idleNs: data[5]!,
      events: nullable(data[6]!),
      eventsWaiting: nullable(data[7]!),
      ended: data[9] === 1,
      threadId: data[10]!,
      images,
    };
  };

  // The counters a cumulative snapshot subtracts: recording start, nothing counted yet.
  // (Its distributions are the cumulative images themselves; see windowDistribution.)
  const origin = (now: RawRead): RawRead => ({
    ...now,
    hrNs: now.startHrNs,
    iterations: 0,
    idleNs: 0,
    events: now.events === null ? null : 0,
    eventsWaiting: now.eventsWaiting === null ? null : 0,
  });

  const between = (now: RawRead, base: RawRead | undefined): LoopPart => {
    const from = base ?? origin(now);
    const windowMs = Math.max(0, (now.hrNs - from.hrNs) * NS_TO_MS);
    const idleMs = Math.min(windowMs, Math.max(0, (now.idleNs - from.idleNs) * NS_TO_MS));
    const activeMs = windowMs - idleMs;
    const dist = (i: number): Distribution => windowDistribution(histogram, now.images[i]!, base?.images[i], NS_TO_MS);
    const difference = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
    return {
      timestamp: now.hrNs * NS_TO_MS + offsetMs,
      windowMs,
      iterations: now.iterations - from.iterations,
      utilization: windowMs > 0 ? activeMs / windowMs : 0,
      activeMs,
      idleMs,
      events: difference(now.events, from.events),
      eventsWaiting: difference(now.eventsWaiting, from.eventsWaiting),
      busy: dist(0),
      phases: { poll: dist(1), pollWait: dist(2), check: dist(3), timers: dist(4) },
    };
  };

  // Each snapshot remembers its raw read, so a later call can subtract it.
  const raws = new WeakMap<object, RawRead>();

  function loopStats(since?: LoopStats): LoopStats {
    let base: RawRead | undefined;
    if (since !== undefined) {
      base = typeof since === 'object' && since !== null ? raws.get(since) : undefined;
      if (base === undefined) throw invalidArgType('since', 'a LoopStats returned by loopStats() or watch() on this thread', since);
    }
    native.loopRead(buffer);
    const now = decode(buffer);
    const stats: LoopStats = { ...between(now, base), handles: sources.handles(), threadpool: sources.threadpool(since?.threadpool) };
    raws.set(stats, now);
    return stats;
  }

  function threads(since?: ThreadStats[]): ThreadStats[] {
    const earlier = new Map<number, RawRead>();
    if (since !== undefined) {
      if (!Array.isArray(since)) throw invalidArgType('since', 'an array returned by threads()', since);
      for (const entry of since) {
        const raw = typeof entry === 'object' && entry !== null ? raws.get(entry) : undefined;
        if (raw === undefined) throw invalidArgType('since', 'an array returned by threads()', since);
        earlier.set(raw.threadId, raw);
      }
    }
    const pool = sources.threadpool(since?.[0]?.threadpool);
    return native.loopReadThreads().map(({ current, data }) => {
      const now = decode(data);
      const base = earlier.get(now.threadId);
      // A thread started after `since` gets its window from its own start.
      const stats: ThreadStats = {
        threadId: now.threadId,
        current,
        ended: now.ended,
        activity: threadActivity(data, current, native.threadKernelState),
        ...between(now, base !== undefined && base.startHrNs === now.startHrNs ? base : undefined),
        handles: current ? sources.handles() : null,
        threadpool: pool,
      };
      raws.set(stats, now);
      return stats;
    });
  }

  /** How this thread's probe measures (see LoopProbeInfo). */
  function probe(): LoopProbeInfo {
    native.loopRead(buffer);
    return probeInfo(buffer);
  }

  return { loopStats, threads, probe };
}
