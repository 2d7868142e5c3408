// The public surface: an explicit export list.
import { binding, type RuntimeInfo } from './binding.js';
import { emptyDistribution } from './distribution.js';
import { makeHandles } from './handles.js';
import { makeIterations } from './iterations.js';
import { makeLoopStats } from './loop.js';
import type { ThreadpoolStats } from './types.js';
import { makeWatch } from './watch.js';

// Loading uvscope starts recording on this thread's loop.
const native = binding();

/** What the running Node and libuv offer (libuv version, whether `events` can be measured). */
export function runtime(): RuntimeInfo {
  return native.runtime();
}

/**
 * The handles on this thread's loop: `handles(options?)` lists them with details,
 * `handleSummary()` only counts them, `whyAlive()` names what keeps the loop alive.
 */
export const { handles, handleSummary, whyAlive } = makeHandles(native);

/**
 * A snapshot of this thread's loop: cumulative since recording started, or, given an
 * earlier snapshot, the window between the two. Reading never resets anything.
 */
export const loopStats = makeLoopStats(native, {
  handles: () => handleSummary(),
  threadpool: (): ThreadpoolStats => ({ size: 4, busy: null, queued: null, queueWait: emptyDistribution() }),
});

/** One window snapshot per `intervalMs`, as an async iterator. */
export const watch = makeWatch(loopStats);

/** Per-iteration records as they complete, from a native ring. */
export const iterations = makeIterations(native);

export type { RuntimeInfo } from './binding.js';
export type { HandlesOptions, HandleSummaryOptions } from './handles.js';
export type { IterationsOptions, IterationStream } from './iterations.js';
export type { WatchOptions } from './watch.js';
export type {
  AliveReport,
  Distribution,
  FsEventHandleInfo,
  FsPollHandleInfo,
  HandleInfo,
  HandleInfoCommon,
  HandleSummary,
  IterationRecord,
  LoopHandleInfo,
  LoopPhases,
  LoopStats,
  PipeHandleInfo,
  PollHandleInfo,
  ProcessHandleInfo,
  SignalHandleInfo,
  SocketEndpoint,
  StreamInfoCommon,
  TcpHandleInfo,
  ThreadpoolStats,
  TimerHandleInfo,
  TtyHandleInfo,
  UdpHandleInfo,
  UnknownHandleInfo,
} from './types.js';
export { UvscopeError, type UvscopeErrorCode } from './errors.js';
