// loopStats() and threads(): snapshots of event loops, cumulative or over a window.
import { performance } from 'node:perf_hooks';
import { threadId as ownThreadId } from 'node:worker_threads';

import type { NativeBinding } from './binding.js';
import { type HistogramImage, rawHistogram, readImages, windowDistribution } from './distribution.js';
import { arrayOrRevoked, invalidArgType, invalidArgValue } from './errors.js';
import type {
  Distribution,
  HandleSummary,
  LoopStats,
  ThreadActivity,
  ThreadHistograms,
  ThreadKernelState,
  ThreadStats,
  ThreadpoolStats,
} from './types.js';

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

/** An ended thread's final read, decoded once. */
interface EndedThread {
  now: RawRead;
  activity: ThreadActivity;
  /** Since its recording started. */
  cumulative: LoopPart;
  /** The empty window against itself (a `since` taken after it ended), made on first use. */
  empty: LoopPart | undefined;
  /** The last threads() call that listed it. */
  seen: number;
}

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

function copyDistribution(d: Distribution): Distribution {
  return {
    count: d.count,
    totalMs: d.totalMs,
    minMs: d.minMs,
    maxMs: d.maxMs,
    meanMs: d.meanMs,
    p50Ms: d.p50Ms,
    p90Ms: d.p90Ms,
    p99Ms: d.p99Ms,
    p999Ms: d.p999Ms,
  };
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

  // threads(): one buffer for every native read, grown as needed; ended threads' final
  // reads, decoded once, by recorder serial (their numbers never change), and those
  // serials, ascending, for the native read to leave out.
  let threadsBuffer = new Float64Array(layout.threadsHeader + 4 * (layout.threadRecordHeader + layout.size));
  const ended = new Map<number, EndedThread>();
  let knownEnded = new Float64Array(0);
  let knownDirty = false;
  let readGeneration = 0;

  function loopStats(since?: LoopStats): LoopStats {
    let base: RawRead | undefined;
    if (since !== undefined) {
      base = typeof since === 'object' && since !== null ? raws.get(since) : undefined;
      if (base === undefined) throw invalidArgType('since', 'a LoopStats returned by loopStats() or watch() on this thread', since);
    }
    native.loopRead(buffer);
    const now = decode(buffer);
    // threads() keeps every thread's read: a window against another thread's snapshot would
    // subtract one loop's counters from another's.
    if (base !== undefined && (base.threadId !== now.threadId || base.startHrNs !== now.startHrNs)) {
      throw invalidArgValue('since', "a snapshot of this thread's loop (another thread's from threads() cannot be subtracted)", since);
    }
    const stats: LoopStats = { ...between(now, base), handles: sources.handles(), threadpool: sources.threadpool(since?.threadpool) };
    raws.set(stats, now);
    return stats;
  }

  function threads(since?: ThreadStats[]): ThreadStats[] {
    const earlier = new Map<number, RawRead>();
    if (since !== undefined) {
      if (typeof since !== 'object' || since === null || arrayOrRevoked(since) !== true) {
        throw invalidArgType('since', 'an array returned by threads()', since);
      }
      for (const entry of since) {
        const raw = typeof entry === 'object' && entry !== null ? raws.get(entry) : undefined;
        if (raw === undefined) throw invalidArgType('since', 'an array returned by threads()', since);
        earlier.set(raw.threadId, raw);
      }
    }
    const pool = sources.threadpool(since?.[0]?.threadpool);
    readThreadRecords();
    const result: ThreadStats[] = [];
    const generation = ++readGeneration;
    let omitted = 0;
    forEachThreadRecord((serial, current, data) => {
      let final = ended.get(serial);
      if (final === undefined) {
        if (data === null) return; // omitted, yet no longer cached: cannot happen
        const now = decode(data);
        const activity = threadActivity(data, current, native.threadKernelState);
        if (!now.ended) {
          const base = earlier.get(now.threadId);
          // A thread started after `since` gets its window from its own start.
          const part = between(now, base !== undefined && base.startHrNs === now.startHrNs ? base : undefined);
          result.push(threadStats(now, current, activity, part, pool));
          return;
        }
        // Its numbers are final: decoded once, reused by every later call.
        final = { now, activity, cumulative: between(now, undefined), empty: undefined, seen: 0 };
        ended.set(serial, final);
        knownDirty = true;
      } else {
        ++omitted;
      }
      final.seen = generation;
      const base = earlier.get(final.now.threadId);
      let part: LoopPart;
      if (base === undefined || base.startHrNs !== final.now.startHrNs) part = final.cumulative;
      else if (base === final.now) part = (final.empty ??= between(final.now, final.now)); // since taken after it ended
      else part = between(final.now, base);
      result.push(threadStats(final.now, current, final.activity, part, pool));
    });
    // Forget ended threads the registry no longer lists (past retention).
    if (omitted < knownEnded.length) {
      for (const [serial, final] of ended) {
        if (final.seen !== generation) {
          ended.delete(serial);
          knownDirty = true;
        }
      }
    }
    if (knownDirty) {
      knownEnded = Float64Array.from([...ended.keys()].sort((a, b) => a - b));
      knownDirty = false;
    }
    return result;
  }

  /** A fresh ThreadStats (callers may keep and change it) around a possibly shared part. */
  function threadStats(now: RawRead, current: boolean, activity: ThreadActivity, part: LoopPart, pool: ThreadpoolStats): ThreadStats {
    // Field by field: object spread costs several times more, and with hundreds of ended
    // threads this is most of a call.
    const kernel = activity.kernel;
    const stats: ThreadStats = {
      threadId: now.threadId,
      current,
      ended: now.ended,
      activity: {
        state: activity.state,
        iteration: activity.iteration,
        elapsedMs: activity.elapsedMs,
        busyMs: activity.busyMs,
        waiting: activity.waiting,
        kernel: kernel === null ? null : { state: kernel.state, syscall: kernel.syscall, cpuMs: kernel.cpuMs },
      },
      timestamp: part.timestamp,
      windowMs: part.windowMs,
      iterations: part.iterations,
      utilization: part.utilization,
      activeMs: part.activeMs,
      idleMs: part.idleMs,
      events: part.events,
      eventsWaiting: part.eventsWaiting,
      busy: copyDistribution(part.busy),
      phases: {
        poll: copyDistribution(part.phases.poll),
        pollWait: copyDistribution(part.phases.pollWait),
        check: copyDistribution(part.phases.check),
        timers: copyDistribution(part.phases.timers),
      },
      handles: current ? sources.handles() : null,
      threadpool: pool,
    };
    raws.set(stats, now);
    return stats;
  }

  /**
   * Visits the records of the last readThreadRecords() in registry order: `data` is the
   * thread's read, or null for an ended thread the native read left out (`knownEnded`).
   */
  function forEachThreadRecord(visit: (serial: number, current: boolean, data: Float64Array | null) => void): void {
    const count = threadsBuffer[0]!;
    let at = layout.threadsHeader;
    for (let i = 0; i < count; i++) {
      const serial = threadsBuffer[at]!;
      const flags = threadsBuffer[at + 1]!;
      const dataAt = at + layout.threadRecordHeader;
      const omitted = (flags & 4) !== 0;
      at = dataAt + (omitted ? 0 : layout.size);
      visit(serial, (flags & 1) !== 0, omitted ? null : threadsBuffer.subarray(dataAt, dataAt + layout.size));
    }
  }

  /** One native read of every recorder into threadsBuffer (grown as needed, then reused). */
  function readThreadRecords(): void {
    for (;;) {
      native.loopReadThreads(threadsBuffer, knownEnded);
      const needed = threadsBuffer[1]!;
      if (needed <= threadsBuffer.length) return;
      threadsBuffer = new Float64Array(Math.ceil(needed * 1.25));
    }
  }

  /** Every thread's raw cumulative counters and histograms (what the bridges export). */
  function loopHistograms(): ThreadHistograms[] {
    readThreadRecords();
    const result: ThreadHistograms[] = [];
    forEachThreadRecord((serial, current, data) => {
      // An ended thread the native read left out: its final numbers, decoded by threads().
      const now = data === null ? ended.get(serial)?.now : decode(data);
      if (now !== undefined) result.push(histogramsOf(now, current));
    });
    return result;
  }

  function histogramsOf(now: RawRead, current: boolean): ThreadHistograms {
    const raw = (i: number) => rawHistogram(histogram, now.images[i]!);
    const windowMs = Math.max(0, (now.hrNs - now.startHrNs) * NS_TO_MS);
    const idleMs = Math.min(windowMs, Math.max(0, now.idleNs * NS_TO_MS));
    return {
      threadId: now.threadId,
      current,
      ended: now.ended,
      startTimestamp: now.startHrNs * NS_TO_MS + offsetMs,
      timestamp: now.hrNs * NS_TO_MS + offsetMs,
      iterations: now.iterations,
      activeMs: windowMs - idleMs,
      idleMs,
      events: now.events,
      busy: raw(0),
      phases: { poll: raw(1), pollWait: raw(2), check: raw(3), timers: raw(4) },
    };
  }

  /** How this thread's probe measures (see LoopProbeInfo). */
  function probe(): LoopProbeInfo {
    native.loopRead(buffer);
    return probeInfo(buffer);
  }

  return { loopStats, threads, loopHistograms, probe };
}
