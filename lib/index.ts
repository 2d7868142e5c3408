// The public surface: an explicit export list.
import { binding, type RuntimeInfo } from './binding.js';
import { emptyDistribution } from './distribution.js';
import { makeIterations } from './iterations.js';
import { makeLoopStats } from './loop.js';
import type { HandleSummary, ThreadpoolStats } from './types.js';
import { makeWatch } from './watch.js';

// Loading uvscope starts recording on this thread's loop.
const native = binding();

/** What the running Node and libuv offer (libuv version, whether `events` can be measured). */
export function runtime(): RuntimeInfo {
  return native.runtime();
}

const loop = makeLoopStats(native, {
  handles: (): HandleSummary => ({ total: 0, active: 0, referenced: 0, byType: {} }),
  threadpool: (): ThreadpoolStats => ({ size: 4, busy: null, queued: null, queueWait: emptyDistribution() }),
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

/** One window snapshot per `intervalMs`, as an async iterator. */
export const watch = makeWatch(loopStats);

/** Per-iteration records as they complete, from a native ring. */
export const iterations = makeIterations(native);

export type { RuntimeInfo } from './binding.js';
export type { IterationsOptions, IterationStream } from './iterations.js';
export type { WatchOptions } from './watch.js';
export type { Distribution, HandleSummary, IterationRecord, LoopPhases, LoopStats, ThreadStats, ThreadpoolStats } from './types.js';
export { UvscopeError, type UvscopeErrorCode } from './errors.js';
