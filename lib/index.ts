// The public surface: an explicit export list.
import { binding, type RuntimeInfo } from './binding.js';
import { makeHandleTracker } from './handle-origins.js';
import { makeHandles } from './handles.js';
import { makeIterations } from './iterations.js';
import { makeLoopStats } from './loop.js';
import { makeStalls } from './stalls.js';
import { makeThreadpool } from './threadpool.js';
import { makeWatch } from './watch.js';

// Loading uvscope starts recording on this thread's loop.
const native = binding();

/** What the running Node and libuv offer (libuv version, whether `events` can be measured). */
export function runtime(): RuntimeInfo {
  return { ...native.runtime(), ...loop.probe() };
}

const pool = makeThreadpool(native);

/**
 * The libuv thread pool (process-wide): size, busy threads, queued work, and how long work
 * waits for a thread. Cumulative, or given an earlier snapshot, over the window since it.
 */
export const threadpool = pool.threadpool;

/** Sets the thread-pool probe's interval and turns in-flight request tracking on or off. */
export const configureThreadpool = pool.configureThreadpool;

/**
 * The handles on this thread's loop: `handles(options?)` lists them with details,
 * `handleSummary()` only counts them, `whyAlive()` names what keeps the loop alive.
 */
const tracker = makeHandleTracker();
export const { handles, handleSummary, whyAlive } = makeHandles(native, tracker);

/**
 * Turns handle creation tracking on (default) or off for this thread: from then on, each
 * socket, server, pipe, child process, watcher and JavaScript timer created keeps its
 * creation stack, and `whyAlive({ stacks: true })` names where each handle that keeps the
 * loop alive was created. Off by default: it costs a stack capture per handle created (see
 * the README). Turning it off forgets what was kept.
 */
export const trackHandles = tracker.trackHandles;

const loop = makeLoopStats(native, {
  handles: () => handleSummary(),
  threadpool: pool.threadpool,
});

/**
 * A snapshot of this thread's loop: cumulative since recording started, or, given an
 * earlier snapshot, the window between the two. Reading never resets anything.
 */
export const loopStats = loop.loopStats;

/**
 * Every thread's loop (main and workers that loaded uvscope), read from this thread without
 * messaging the others; given an earlier result, the windows since it, matched by threadId.
 * Workers that ended stay listed (`ended: true`, final numbers) for 60 s.
 */
export const threads = loop.threads;

/**
 * Every thread's loop histograms and counters, raw and cumulative since recording started:
 * bucket edges (ns) and counts, for exporting losslessly. Reading never resets anything.
 */
export const loopHistograms = loop.loopHistograms;

/** The thread pool's histograms, raw and cumulative (process-wide). */
export const threadpoolHistograms = pool.threadpoolHistograms;

/** One window snapshot per `intervalMs`, as an async iterator. */
export const watch = makeWatch(loopStats);

/** Per-iteration records as they complete, from a native ring. */
export const iterations = makeIterations(native);

/**
 * Stall episodes as they end: iterations busier than `thresholdMs` on any observed thread,
 * with the main thread's JavaScript stack taken while it blocked and the thread's kernel state.
 */
export const stalls = makeStalls(native);

export type { RuntimeInfo } from './binding.js';
export type { HandlesOptions, HandleSummaryOptions, WhyAliveOptions } from './handles.js';
export type { IterationsOptions, IterationStream } from './iterations.js';
export type { LoopProbeInfo } from './loop.js';
export type { StallStream, StallsOptions } from './stalls.js';
export type { ThreadpoolOptions, ThreadpoolSettings } from './threadpool.js';
export type { WatchOptions } from './watch.js';
export type {
  AliveReport,
  Distribution,
  FsEventHandleInfo,
  FsPollHandleInfo,
  HandleInfo,
  HandleOrigin,
  HandleInfoCommon,
  HandleSummary,
  HistogramBucket,
  IterationRecord,
  LoopHandleInfo,
  LoopPhases,
  LoopStats,
  PipeHandleInfo,
  PollHandleInfo,
  ProcessHandleInfo,
  RawHistogram,
  SignalHandleInfo,
  SocketEndpoint,
  StackFrame,
  StallFrame,
  StallRecord,
  StreamInfoCommon,
  TcpHandleInfo,
  ThreadActivity,
  ThreadHistograms,
  ThreadKernelState,
  ThreadpoolHistograms,
  ThreadpoolInFlight,
  ThreadpoolStats,
  ThreadpoolThread,
  ThreadStats,
  TimerHandleInfo,
  TtyHandleInfo,
  UdpHandleInfo,
  UnknownHandleInfo,
} from './types.js';
export { UvscopeError, type UvscopeErrorCode } from './errors.js';
