// The public surface as CommonJS consumers see it. Fails to compile when a public name
// or type drifts from SPEC.
import uvscope = require('uvscope');
import type { Equal } from './assert';
import { assertType } from './assert';

type Distribution = uvscope.Distribution;

// SPEC §2 names and signatures.
assertType<Equal<typeof uvscope.loopStats, (since?: uvscope.LoopStats) => uvscope.LoopStats>>();
assertType<Equal<ReturnType<typeof uvscope.watch>, AsyncIterableIterator<uvscope.LoopStats>>>();
assertType<Equal<Parameters<typeof uvscope.watch>, [options?: uvscope.WatchOptions]>>();
assertType<Equal<ReturnType<typeof uvscope.iterations>, uvscope.IterationStream>>();
assertType<uvscope.IterationStream extends AsyncIterableIterator<uvscope.IterationRecord> ? true : false>();
assertType<Equal<uvscope.IterationStream['readNow'], () => uvscope.IterationRecord[]>>();
assertType<Equal<uvscope.IterationStream['dropped'], number>>();
assertType<Equal<ReturnType<typeof uvscope.threadpool>, uvscope.ThreadpoolStats>>();
assertType<Equal<ReturnType<typeof uvscope.runtime>, uvscope.RuntimeInfo>>();
assertType<Equal<typeof uvscope.threads, (since?: uvscope.ThreadStats[]) => uvscope.ThreadStats[]>>();

// Option names and types.
assertType<Equal<uvscope.WatchOptions, { intervalMs?: number; signal?: AbortSignal; ref?: boolean }>>();
assertType<Equal<NonNullable<uvscope.IterationsOptions['minBusyMs']>, number>>();

// Distribution: exactly the SPEC fields, all numbers.
assertType<
  Equal<keyof Distribution, 'count' | 'totalMs' | 'minMs' | 'maxMs' | 'meanMs' | 'p50Ms' | 'p90Ms' | 'p99Ms' | 'p999Ms'>
>();
assertType<Equal<Distribution[keyof Distribution], number>>();

// LoopStats: the SPEC fields with their types (more fields are allowed by SPEC; these stay).
type L = uvscope.LoopStats;
assertType<Equal<L['timestamp'] | L['windowMs'] | L['iterations'] | L['utilization'] | L['activeMs'] | L['idleMs'], number>>();
assertType<Equal<L['events'], number | null>>();
assertType<Equal<L['eventsWaiting'], number | null>>();
assertType<Equal<L['busy'], Distribution>>();
assertType<Equal<L['phases']['poll'] | L['phases']['pollWait'] | L['phases']['check'] | L['phases']['timers'], Distribution>>();
assertType<Equal<L['handles'], uvscope.HandleSummary>>();
assertType<Equal<L['threadpool'], uvscope.ThreadpoolStats>>();

// HandleSummary and ThreadpoolStats SPEC fields.
assertType<Equal<Pick<uvscope.HandleSummary, 'total' | 'active' | 'referenced'>, { total: number; active: number; referenced: number }>>();
assertType<Equal<uvscope.HandleSummary['byType'], Record<string, number>>>();
assertType<Equal<uvscope.ThreadpoolStats['size'], number>>();
assertType<Equal<uvscope.ThreadpoolStats['busy'], number | null>>();
assertType<Equal<uvscope.ThreadpoolStats['queued'], number | null>>();
assertType<Equal<uvscope.ThreadpoolStats['queueWait'], Distribution>>();
assertType<Equal<uvscope.ThreadpoolStats['cpuWait'], Distribution>>();

// ThreadStats.activity: what a thread is doing, the loop's and the kernel's view.
assertType<Equal<uvscope.ThreadStats['activity'], uvscope.ThreadActivity>>();
assertType<Equal<uvscope.ThreadActivity['state'], 'idle' | 'running' | 'blocked' | 'busy' | 'ended' | 'unknown'>>();
assertType<Equal<uvscope.ThreadActivity['iteration'], number | null>>();
assertType<Equal<uvscope.ThreadActivity['waiting'], boolean | null>>();
assertType<Equal<uvscope.ThreadActivity['kernel'], uvscope.ThreadKernelState | null>>();
assertType<Equal<uvscope.ThreadKernelState, { state: 'running' | 'sleeping' | 'disk' | 'other'; syscall: string | null; cpuMs: number | null }>>();

// IterationRecord: exactly the SPEC fields.
assertType<
  Equal<
    uvscope.IterationRecord,
    {
      index: number;
      startMs: number;
      durationMs: number;
      busyMs: number;
      pollWaitMs: number;
      pollMs: number;
      checkMs: number;
      timersMs: number;
      events: number | null;
    }
  >
>();

// Errors.
assertType<Equal<InstanceType<typeof uvscope.UvscopeError>['code'], uvscope.UvscopeErrorCode>>();
assertType<
  Equal<
    uvscope.UvscopeErrorCode,
    | 'ERR_UVSCOPE_UNSUPPORTED_RUNTIME'
    | 'ERR_UVSCOPE_BINARY_NOT_FOUND'
    | 'ERR_UVSCOPE_PERMISSION_DENIED'
    | 'ERR_UVSCOPE_INVALID_ARG_TYPE'
    | 'ERR_UVSCOPE_INVALID_ARG_VALUE'
    | 'ERR_UVSCOPE_HANDLE_TRACKING_OFF'
  >
>();

// Handles: a discriminated union on `type`.
assertType<Equal<ReturnType<typeof uvscope.handles>, uvscope.HandleInfo[]>>();
assertType<Equal<ReturnType<typeof uvscope.handleSummary>, uvscope.HandleSummary>>();
assertType<Equal<ReturnType<typeof uvscope.whyAlive>, uvscope.AliveReport>>();
// Creation stacks (opt-in).
assertType<Equal<Parameters<typeof uvscope.trackHandles>, [enabled?: boolean]>>();
assertType<Equal<Parameters<typeof uvscope.whyAlive>, [options?: uvscope.WhyAliveOptions]>>();
assertType<Equal<uvscope.HandleInfoCommon['createdAt'], uvscope.HandleOrigin[] | undefined>>();
assertType<Equal<uvscope.HandleOrigin['stack'][number], uvscope.StackFrame>>();
assertType<Equal<uvscope.HandleOrigin['via'], string | null>>();
declare const handle: uvscope.HandleInfo;
if (handle.type === 'tcp') assertType<Equal<typeof handle, uvscope.TcpHandleInfo>>();
if (handle.type === 'timer') assertType<Equal<typeof handle, uvscope.TimerHandleInfo>>();
if (handle.type === 'process') assertType<Equal<typeof handle, uvscope.ProcessHandleInfo>>();

// Raw cumulative histograms (the bridges' source, public for any exporter).
assertType<Equal<typeof uvscope.loopHistograms, () => uvscope.ThreadHistograms[]>>();
assertType<Equal<typeof uvscope.threadpoolHistograms, () => uvscope.ThreadpoolHistograms>>();
assertType<Equal<uvscope.RawHistogram['buckets'], uvscope.HistogramBucket[]>>();
assertType<Equal<uvscope.HistogramBucket, { lowNs: number; highNs: number; count: number }>>();
assertType<Equal<uvscope.ThreadHistograms['phases']['poll'] | uvscope.ThreadHistograms['busy'], uvscope.RawHistogram>>();
// The loop probe's clock: the x64 TSC, the arm64 generic timer, or uv_hrtime().
assertType<Equal<uvscope.RuntimeInfo['loopClock'], 'tsc' | 'cntvct' | 'hrtime'>>();
// Stalls: the fields exactly as issue 11 types them; the stream is an
// AsyncIterableIterator<StallRecord> that also counts what it lost.
assertType<
  Equal<
    typeof uvscope.stalls,
    (options?: { thresholdMs?: number; signal?: AbortSignal; ref?: boolean }) => uvscope.StallStream
  >
>();
assertType<uvscope.StallStream extends AsyncIterableIterator<uvscope.StallRecord> ? true : false>();
assertType<Equal<Pick<uvscope.StallStream, 'dropped'>, { readonly dropped: number }>>();
assertType<Equal<uvscope.StallFrame, { functionName: string; url: string; line: number; column: number }>>();
assertType<
  Equal<
    uvscope.StallRecord,
    {
      threadId: number;
      iteration: number;
      startMs: number;
      blockedMs: number;
      busyMs: number | null;
      phase: 'poll' | 'check' | 'timers' | null;
      capture: 'exact' | 'deferred' | 'stale' | 'none' | 'unavailable';
      stack: uvscope.StallFrame[] | null;
      landedAfterMs: number | null;
      thread: { state: 'running' | 'sleeping' | 'disk' | 'other'; syscall: string | null } | null;
    }
  >
>();
