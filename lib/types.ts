// Public data types. Times are milliseconds as floating-point numbers; points in time
// are on the `performance.now()` time base.

/** A distribution of durations over the loop iterations (or work items) in a window. */
export interface Distribution {
  /** How many values were recorded. */
  count: number;
  /** Sum of the values, ms. */
  totalMs: number;
  /** Smallest value, ms (0 when `count` is 0). */
  minMs: number;
  /** Largest value, ms (0 when `count` is 0). */
  maxMs: number;
  /** `totalMs / count`, ms (0 when `count` is 0). */
  meanMs: number;
  /** Median, ms. Percentiles come from a log-linear histogram: within 1% of the true value. */
  p50Ms: number;
  /** 90th percentile, ms. */
  p90Ms: number;
  /** 99th percentile, ms. */
  p99Ms: number;
  /** 99.9th percentile, ms. */
  p999Ms: number;
}

/** Time per loop phase, one value per iteration. */
export interface LoopPhases {
  /** I/O callbacks run in the poll phase (plus the pending re-runs after it), ms. */
  poll: Distribution;
  /** Time blocked in the kernel waiting for events (idle), ms. */
  pollWait: Distribution;
  /** The check phase: setImmediate callbacks, ms. */
  check: Distribution;
  /** From the end of the check phase to the next prepare: close callbacks, timers, pending and idle callbacks, ms. */
  timers: Distribution;
}

/** Handle counts on this thread's loop, now (not windowed). uvscope's own handles are left out. */
export interface HandleSummary {
  /** Every handle on the loop, closing ones included. */
  total: number;
  /** Handles that are active (started, open, listening...). */
  active: number;
  /** Active and ref'd: these keep the loop (and the process or worker) alive. */
  referenced: number;
  /** Count per libuv type name: `tcp`, `timer`, `pipe`, `udp`, `tty`, `signal`, `process`, ... */
  byType: Record<string, number>;
}

/**
 * The libuv thread pool. It is process-wide: every thread (main and workers) shares one
 * pool, so `size`, `busy`, `threads` and the probe's queue wait are the same numbers
 * whichever thread reads them. `inFlight` and `queued` sum the requests of every thread
 * that turned tracking on.
 */
export interface ThreadpoolStats {
  /** `performance.now()` when the snapshot was taken. */
  timestamp: number;
  /**
   * Worker threads in the pool (`UV_THREADPOOL_SIZE`, 1..1024, default 4). Counted from
   * the threads themselves where they can be told apart (Linux); otherwise libuv's rule
   * applied to `UV_THREADPOOL_SIZE` once the pool has started (before it starts: the size
   * it would start with now).
   */
  size: number;
  /** Whether the pool's threads exist yet (libuv starts them on the first work item). */
  started: boolean;
  /**
   * Threads running work now, or null where it cannot be known. From the threads' kernel
   * state on Linux (`busySource: 'threads'`); else, with tracking on, the tracked requests
   * in flight up to `size` (`'tracking'`).
   */
  busy: number | null;
  /**
   * Work items waiting for a thread now: tracked requests in flight less `busy`. Null
   * unless tracking is on (`configureThreadpool({ track: true })`).
   */
  queued: number | null;
  /** Where `busy` comes from: the pool threads' state (Linux), tracked requests, or nowhere. */
  busySource: 'threads' | 'tracking' | null;
  /**
   * How long work waited before a thread picked it up, ms, over the window: the probe's
   * no-op item, submitted once per probe interval while the loop is running.
   */
  queueWait: Distribution;
  /**
   * How long finished work waited for this thread's loop to run its callback, ms, over the
   * window (the probe's item, from the end of its work to its after-work callback).
   */
  callbackDelay: Distribution;
  /** How long the probe item now in the queue has waited so far, ms (0 when none waits). */
  pendingWaitMs: number;
  /** Tracked requests in flight (submitted, callback not yet run), by kind; null unless tracking is on. */
  inFlight: ThreadpoolInFlight | null;
  /** The pool threads known so far, with their state and CPU time (Linux); null elsewhere or before any is known. */
  threads: ThreadpoolThread[] | null;
}

/**
 * Pool-backed requests in flight, counted through async_hooks on every thread where
 * tracking is on. zlib and addon work are not counted: async_hooks shows no per-job event
 * for them.
 */
export interface ThreadpoolInFlight {
  /** fs + dns + crypto. */
  total: number;
  /** fs requests: callback and promise APIs, FileHandle closes. */
  fs: number;
  /** dns.lookup() and dns.lookupService() (getaddrinfo, getnameinfo). */
  dns: number;
  /** Asynchronous crypto jobs: pbkdf2, scrypt, randomBytes/randomFill, keygen, primes, webcrypto. */
  crypto: number;
}

/** One libuv pool thread (Linux, from /proc/self/task). */
export interface ThreadpoolThread {
  /** Kernel thread id. */
  tid: number;
  /** Running a work item now (not blocked on the pool's condition variable); null while that cannot be told. */
  busy: boolean | null;
  /** CPU time the thread has used since it started, ms; null where the kernel does not say. */
  cpuMs: number | null;
  /** CPU time over the window / the window's wall time, 0..1; null for a cumulative snapshot. */
  utilization: number | null;
}

/** A snapshot of this thread's loop, cumulative since recording started or over a window. */
export interface LoopStats {
  /** `performance.now()` when the snapshot was taken. */
  timestamp: number;
  /** Wall time the snapshot covers, ms. */
  windowMs: number;
  /** Loop iterations completed in the window. */
  iterations: number;
  /** `activeMs / windowMs`, 0..1; agrees with `performance.eventLoopUtilization()`. */
  utilization: number;
  /** Time the loop was not blocked waiting for events, ms. */
  activeMs: number;
  /** Time the loop was blocked waiting for events, ms. */
  idleMs: number;
  /** I/O events processed (`uv_metrics_info`); null where libuv lacks it (< 1.45). */
  events: number | null;
  /** Events already waiting when the loop polled; null where libuv lacks it. */
  eventsWaiting: number | null;
  /** Per iteration: its duration minus the time blocked in poll, ms. */
  busy: Distribution;
  /** Per-phase time per iteration. */
  phases: LoopPhases;
  /** Handles now. */
  handles: HandleSummary;
  /** The thread pool. */
  threadpool: ThreadpoolStats;
}

/** One completed loop iteration. */
export interface IterationRecord {
  /** Loop iteration number on this thread (gaps mean records were dropped). */
  index: number;
  /** When the iteration started (prepare), `performance.now()` time base. */
  startMs: number;
  /** Prepare to next prepare, ms. */
  durationMs: number;
  /** `durationMs - pollWaitMs`, ms. */
  busyMs: number;
  /** Blocked waiting for events, ms. */
  pollWaitMs: number;
  /** I/O callbacks in the poll phase, ms. */
  pollMs: number;
  /** The check phase (setImmediate callbacks), ms. */
  checkMs: number;
  /** Close callbacks, timers, pending and idle callbacks, ms. */
  timersMs: number;
  /** I/O events processed in this iteration; null where libuv lacks `uv_metrics_info`. */
  events: number | null;
}

/**
 * One thread's loop as seen from any thread: `threads()` returns one per thread that has
 * loaded uvscope (main and workers), read without messaging that thread.
 */
export interface ThreadStats extends Omit<LoopStats, 'handles'> {
  /** `worker_threads.threadId` of the thread (0 for the main thread). */
  threadId: number;
  /** Whether this entry is the calling thread. */
  current: boolean;
  /** The thread's environment has ended (a worker that exited): its numbers are final. */
  ended: boolean;
  /**
   * Handle counts, for the calling thread only (a loop's handles cannot be walked safely
   * from another thread); null for the others.
   */
  handles: HandleSummary | null;
}
