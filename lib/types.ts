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
   * Work items waiting for a thread now: tracked requests in flight less `busy`, and 0 while
   * the threads' state shows every thread idle (an idle thread takes the next item at once;
   * the requests in flight are then done, waiting for the loop to run their callbacks).
   * Null unless tracking is on (`configureThreadpool({ track: true })`).
   */
  queued: number | null;
  /** Where `busy` comes from: the pool threads' state (Linux), tracked requests, or nowhere. */
  busySource: 'threads' | 'tracking' | null;
  /**
   * How long work waited before a thread picked it up, ms, over the window: the probe's
   * no-op item, submitted once per probe interval while the loop is running. The probes
   * submitted before the first one completed are left out: one of them started the pool,
   * and its wait is the threads' creation.
   */
  queueWait: Distribution;
  /**
   * Of each probe's queue wait, the part the pool thread that picked it up spent waiting
   * for a CPU, ms (Linux: the thread's run-queue delay from `/proc`, since it last ran a
   * probe; `count` 0 elsewhere). When it accounts for most of `queueWait`, the threads
   * were free and the machine had no CPU for them (a load generator on the same cores,
   * container CPU throttling): the pool was not short of threads. An upper bound when the
   * thread ran other work in between. A wait of 5 ms or more that the run queue does not
   * explain counts whole when another pool thread sat free beside it (blocked on the
   * pool's condition variable, under 1 ms of CPU since uvscope last looked at it): the
   * probe's thread was slow to run for a reason the kernel's run queue does not show, such
   * as the hypervisor running another guest or a page fault on a loaded machine.
   */
  cpuWait: Distribution;
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

/** What the kernel says a thread is doing (Linux: `/proc/self/task/<tid>/stat` and `syscall`). */
export interface ThreadKernelState {
  /**
   * From the thread's state letter: `running` (R: on a CPU, or waiting for one), `sleeping`
   * (S: blocked in the kernel), `disk` (D: uninterruptible, usually disk I/O), `other`.
   */
  state: 'running' | 'sleeping' | 'disk' | 'other';
  /**
   * The system call it is blocked in (`futex`, `epoll_pwait`, `read`, ...); null when it
   * is running or in none.
   */
  syscall: string | null;
  /**
   * CPU time the thread has used since it started (user + system), ms, at the kernel's
   * clock-tick resolution (usually 10 ms); null where unknown. Beside a long iteration it
   * tells computing from waiting: a piscina worker parked in `Atomics.wait` adds none.
   */
  cpuMs: number | null;
}

/**
 * What a thread is doing at the moment `threads()` read it, from its loop's own state (the
 * iteration under way, whether the loop is in its wait for events) and, on Linux, the
 * kernel's view of the thread. Utilization cannot tell these apart: a thread blocked in
 * `Atomics.wait` inside a callback is as "active" to libuv as one running JavaScript.
 */
export interface ThreadActivity {
  /**
   * - `idle`: blocked in its loop's wait for events: nothing to run.
   * - `running`: inside an iteration and on a CPU (or waiting for one): JavaScript or native code.
   * - `blocked`: inside an iteration but blocked in the kernel outside the loop's wait:
   *   `Atomics.wait` or a lock (`futex`), a synchronous file, pipe or child-process call;
   *   `kernel.syscall` names it. An idle piscina worker parks here.
   * - `busy`: inside an iteration and not in the loop's wait, where the kernel's view is
   *   unavailable (not Linux): running or blocked, it cannot be told which.
   * - `ended`: the thread's environment has ended (`ended: true`).
   * - `unknown`: before its first iteration.
   */
  state: 'idle' | 'running' | 'blocked' | 'busy' | 'ended' | 'unknown';
  /** Index of the iteration under way (`IterationRecord.index` numbering); null when ended or before the first. */
  iteration: number | null;
  /** How long the iteration under way has lasted so far, ms (the loop's wait included); 0 when none. */
  elapsedMs: number;
  /**
   * Busy time so far of the iteration under way: `elapsedMs` less the time the loop waited
   * for events in it, ms. For an ended thread: the busy time of its last iteration, the one
   * it ended inside or the last it completed (a worker `terminate()`d inside a long callback
   * completes that iteration during teardown), whichever is longer.
   */
  busyMs: number;
  /**
   * Whether the loop is in its wait for events now; null where it cannot be told (ended
   * threads, and the first iterations, before uvscope has checked where libuv keeps its
   * wait stamp).
   */
  waiting: boolean | null;
  /** The kernel's view (Linux); null elsewhere, for the calling thread (it is running) and for ended threads. */
  kernel: ThreadKernelState | null;
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
  /** What the thread is doing now (or, ended, what it was doing when it ended). */
  activity: ThreadActivity;
  /**
   * Handle counts, for the calling thread only (a loop's handles cannot be walked safely
   * from another thread); null for the others.
   */
  handles: HandleSummary | null;
}

/** A numeric socket address, as the kernel reports it (frozen). uvscope never resolves names. */
export interface SocketEndpoint {
  /** Numeric IP address, e.g. `127.0.0.1` or `::1`. */
  address: string;
  /** Address family. */
  family: 'IPv4' | 'IPv6';
  /** Port number. */
  port: number;
}

/** Fields every handle has. */
export interface HandleInfoCommon {
  /** Started, open, listening, watching...: `uv_is_active`. */
  active: boolean;
  /**
   * Ref'd (`uv_has_ref`). An `active` and `referenced` handle keeps the loop (the process,
   * or the worker) alive; a ref'd handle that is not active does not.
   */
  referenced: boolean;
  /** `uv_close` was called; the handle goes away at the end of this loop iteration. */
  closing: boolean;
  /** One of uvscope's own handles (listed only with `{ includeOwn: true }`). */
  own: boolean;
  /** The file descriptor (`uv_fileno`): tcp, udp, pipe, tty and poll handles that are open; otherwise null. */
  fd: number | null;
  /**
   * Where the handle was created: present only in `whyAlive({ stacks: true })`, with
   * creation tracking on (`trackHandles()`). Empty when uvscope did not see it created
   * (before tracking began, or not by Node). Node's one timer handle lists every ref'd
   * pending JavaScript timer (`setTimeout`/`setInterval`) as an origin.
   */
  createdAt?: HandleOrigin[];
}

/** One frame of a captured JavaScript stack: a stall's (`stalls()`) or a handle's creation (`trackHandles()`). */
export interface StackFrame {
  /** The function's name as V8 gives it (`Type.method`, `new Class`); '' for anonymous or top-level code. */
  functionName: string;
  /** The script: a path for CommonJS, a `file://` URL for ES modules, `node:...` for Node's own; '' where V8 has none. */
  url: string;
  /** 1-based line number. */
  line: number;
  /** 1-based column number. */
  column: number;
}

/** Where one handle-backed resource was created (`trackHandles()`). */
export interface HandleOrigin {
  /** The async_hooks resource type: `TCPSERVERWRAP`, `TCPWRAP`, `PIPEWRAP`, `PROCESSWRAP`, `Timeout`... */
  resource: string;
  /**
   * The call stack at creation, innermost first: the application's frames (Node's and
   * uvscope's own left out), or Node's frames when no other was on the stack; at most 8.
   */
  stack: StackFrame[];
  /**
   * When the handle was created from a callback (an accepted connection; a `listen()` or
   * `connect()` that looked a host name up first), the resource whose creation `stack`
   * shows instead: `TCPSERVERWRAP` (the server that accepted it), `GETADDRINFOREQWRAP`.
   * null when `stack` is the handle's own.
   */
  via: string | null;
}

/** Fields of the stream handles: tcp, pipe and tty. */
export interface StreamInfoCommon {
  /** Bytes queued for writing and not yet handed to the kernel. */
  writeQueueBytes: number;
  /** The stream can be read from (`uv_is_readable`). */
  readable: boolean;
  /** The stream can be written to (`uv_is_writable`). */
  writable: boolean;
}

/** A TCP socket or server (`net.Socket`, `net.Server`, `http.Server`...). */
export interface TcpHandleInfo extends HandleInfoCommon, StreamInfoCommon {
  type: 'tcp';
  /** A server socket accepting connections (`SO_ACCEPTCONN`). */
  listening: boolean;
  /** Local address (`getsockname`); null when unbound or closed. */
  local: SocketEndpoint | null;
  /** Peer address (`getpeername`); null when not connected. */
  remote: SocketEndpoint | null;
}

/** A UDP socket (`dgram.Socket`). */
export interface UdpHandleInfo extends HandleInfoCommon {
  type: 'udp';
  /** Local address; null when unbound or closed. */
  local: SocketEndpoint | null;
  /** Peer address of a connected socket (`socket.connect()`); otherwise null. */
  remote: SocketEndpoint | null;
  /** Bytes waiting to be sent (`uv_udp_get_send_queue_size`). */
  sendQueueBytes: number;
  /** Datagrams waiting to be sent (`uv_udp_get_send_queue_count`). */
  sendQueueCount: number;
}

/** A pipe: Unix domain socket, child process stdio, or an anonymous pipe. */
export interface PipeHandleInfo extends HandleInfoCommon, StreamInfoCommon {
  type: 'pipe';
  /** A server socket accepting connections. */
  listening: boolean;
  /** The socket's own path; null for anonymous pipes. A Linux abstract socket's path starts with `\0`. */
  path: string | null;
  /** The path of the socket at the other end; null when unknown or anonymous. */
  peerPath: string | null;
}

/** A terminal (`process.stdin`/`stdout`/`stderr` on a TTY). */
export interface TtyHandleInfo extends HandleInfoCommon, StreamInfoCommon {
  type: 'tty';
  /** Window width in columns; null when it cannot be read. */
  columns: number | null;
  /** Window height in rows; null when it cannot be read. */
  rows: number | null;
}

/**
 * A libuv timer. Node runs all of a thread's JavaScript timers (`setTimeout`,
 * `setInterval`) on ONE libuv timer, re-armed for the earliest of them and ref'd only while
 * a ref'd JavaScript timer exists: a `setInterval` shows up as that one timer, not as a
 * handle of its own.
 */
export interface TimerHandleInfo extends HandleInfoCommon {
  type: 'timer';
  /**
   * Time until it fires, ms, counted from the loop's time (`uv_now`, taken at the start of
   * the current iteration); 0 when it is due. Null when the timer is not started.
   */
  dueInMs: number | null;
  /** Repeat period, ms; 0 for a one-shot timer (Node's timer is one-shot and re-armed). */
  repeatMs: number;
}

/** A child process (`child_process.spawn` and friends). */
export interface ProcessHandleInfo extends HandleInfoCommon {
  type: 'process';
  /** Its process id. */
  pid: number;
}

/** A signal watcher (`process.on('SIGINT', ...)`). */
export interface SignalHandleInfo extends HandleInfoCommon {
  type: 'signal';
  /** Signal number; null when stopped. */
  signum: number | null;
  /** Signal name, e.g. `SIGINT`; null when stopped or not known to `os.constants.signals`. */
  signal: string | null;
}

/** A file system watcher (`fs.watch`). */
export interface FsEventHandleInfo extends HandleInfoCommon {
  type: 'fs_event';
  /** The watched path; null when stopped. */
  path: string | null;
}

/** A stat poller (`fs.watchFile`). */
export interface FsPollHandleInfo extends HandleInfoCommon {
  type: 'fs_poll';
  /** The polled path; null when stopped. */
  path: string | null;
}

/** A file descriptor poller (`uv_poll_t`, used by c-ares for DNS and by addons). */
export interface PollHandleInfo extends HandleInfoCommon {
  type: 'poll';
}

/** Loop machinery without further detail: `async`, `check`, `idle`, `prepare`. */
export interface LoopHandleInfo extends HandleInfoCommon {
  type: 'async' | 'check' | 'idle' | 'prepare';
}

/** A handle type this version of uvscope does not know (a newer libuv): common fields only. */
export interface UnknownHandleInfo extends HandleInfoCommon {
  type: 'unknown';
  /** The running libuv's name for the type (`uv_handle_type_name`), or `#<number>`. */
  typeName: string;
}

/** One libuv handle, discriminated on `type` (libuv's type names). */
export type HandleInfo =
  | TcpHandleInfo
  | UdpHandleInfo
  | PipeHandleInfo
  | TtyHandleInfo
  | TimerHandleInfo
  | ProcessHandleInfo
  | SignalHandleInfo
  | FsEventHandleInfo
  | FsPollHandleInfo
  | PollHandleInfo
  | LoopHandleInfo
  | UnknownHandleInfo;

/**
 * What keeps this thread's loop (the process, or this worker) alive, from `whyAlive()`.
 * `String(report)` is one readable line.
 */
export interface AliveReport {
  /**
   * Whether anything would keep the loop running: a handle in `handles` or an active
   * request. Inside a `setTimeout`/`setInterval` callback Node's timer handle is stopped
   * (libuv stops a timer before calling it, Node re-arms it after), so ref'd JavaScript
   * timers then show only in `nodeResources.Timeout`, which also counts the running one.
   */
  alive: boolean;
  /** The active, referenced handles, uvscope's own left out. */
  handles: HandleInfo[];
  /** Requests in flight on this loop (`uv_loop_t.active_reqs`): fs calls, DNS lookups, writes, connects, thread-pool work... */
  activeRequests: number;
  /**
   * Node's own view, for naming things: counts of `process.getActiveResourcesInfo()`
   * (ref'd JavaScript timers as `Timeout`, immediates as `Immediate`, request wraps such
   * as `FSReqCallback`, handle wraps such as `TCPSocketWrap`).
   */
  nodeResources: Record<string, number>;
  /** One line naming each thing: endpoints, paths, pids, timer due times. */
  toString(): string;
}

/** One bucket of a raw histogram: the integer nanosecond values from `lowNs` to `highNs`, both included. */
export interface HistogramBucket {
  /** Smallest value the bucket holds, ns. */
  lowNs: number;
  /** Largest value the bucket holds, ns (`Infinity` for the last bucket, which takes everything past 2^42 ns). */
  highNs: number;
  /** Values recorded in the bucket. */
  count: number;
}

/**
 * One of uvscope's histograms as recorded: cumulative since recording started and never reset,
 * so any number of readers (exporters, scrapers) subtract their own earlier reads. Buckets are
 * log-linear: one per nanosecond below 64 ns, then 64 equal buckets per power of two.
 */
export interface RawHistogram {
  /** Values recorded: the sum of the bucket counts. */
  count: number;
  /** Sum of the values, ns. */
  sumNs: number;
  /** Smallest value recorded, ns (0 when `count` is 0). */
  minNs: number;
  /** Largest value recorded, ns (0 when `count` is 0). */
  maxNs: number;
  /** The non-empty buckets, in ascending order. */
  buckets: HistogramBucket[];
}

/** One thread's loop counters and histograms, cumulative since recording started on it. */
export interface ThreadHistograms {
  /** `worker_threads.threadId` (0 for the main thread). */
  threadId: number;
  /** Whether this entry is the calling thread. */
  current: boolean;
  /** The thread's environment has ended: its numbers are final. */
  ended: boolean;
  /** When recording started on the thread, `performance.now()` time base. */
  startTimestamp: number;
  /** When the read was taken, `performance.now()` time base. */
  timestamp: number;
  /** Loop iterations completed since recording started. */
  iterations: number;
  /** Time the loop was not blocked waiting for events since recording started, ms. */
  activeMs: number;
  /** Time the loop was blocked waiting for events since recording started, ms. */
  idleMs: number;
  /** I/O events processed since recording started; null where libuv lacks `uv_metrics_info`. */
  events: number | null;
  /** Per iteration: its duration minus the time blocked in poll. */
  busy: RawHistogram;
  /** Per-phase time per iteration, as in `LoopPhases`. */
  phases: { poll: RawHistogram; pollWait: RawHistogram; check: RawHistogram; timers: RawHistogram };
}

/** The thread pool's histograms (process-wide), cumulative since uvscope was loaded. */
export interface ThreadpoolHistograms {
  /** When the read was taken, `performance.now()` time base. */
  timestamp: number;
  /** As `ThreadpoolStats.queueWait`: how long the probe's work item waited for a thread. */
  queueWait: RawHistogram;
  /** As `ThreadpoolStats.callbackDelay`. */
  callbackDelay: RawHistogram;
  /** As `ThreadpoolStats.cpuWait`. */
  cpuWait: RawHistogram;
}

/** One frame of a stalled thread's JavaScript stack (`stalls()`): the same frame as `StackFrame`. */
export type StallFrame = StackFrame;

/**
 * One stall episode: an iteration whose busy time passed `thresholdMs`, with what the
 * thread was doing while it was stalled. Delivered after the stalled iteration ended.
 */
export interface StallRecord {
  /** worker_threads threadId of the stalled thread (0: main thread). */
  threadId: number;
  /** `IterationRecord.index` of the stalled iteration. */
  iteration: number;
  /** The iteration's start, ms, performance.now() time base of the receiving thread. */
  startMs: number;
  /** Its busy time when the stack was taken (without a stack: when last seen stalled), ms. */
  blockedMs: number;
  /** Its final busy time once it completed, ms; null if the watchdog did not see it complete. */
  busyMs: number | null;
  /** The phase that took most of the iteration; null where it did not complete in view. */
  phase: 'poll' | 'check' | 'timers' | null;
  /**
   * How the stack was taken: `exact` (landed in the stalled iteration within 20 ms of the
   * request: the top frame is the blocking code), `deferred` (same iteration, but only when a
   * native call returned: the first JavaScript after it, the caller usually kept; see
   * `landedAfterMs`), `stale` (the iteration had ended: no stack), `none` (no answer in 3 s, or no capture
   * asked: at most one per 50 ms),
   * `unavailable` (worker threads, no inspector, or a debugger client attached).
   */
  capture: 'exact' | 'deferred' | 'stale' | 'none' | 'unavailable';
  /** The main thread's JavaScript stack, innermost first (`exact` and `deferred` only). */
  stack: StallFrame[] | null;
  /**
   * How long after it was sent to the main thread the capture ran, ms, less the time the main
   * thread waited for a CPU meanwhile (Linux schedstat), so a preempted thread on a loaded
   * machine is not taken for one inside a native call (`exact` and `deferred` only).
   */
  landedAfterMs: number | null;
  /** What the kernel said the thread was doing while stalled (Linux; null elsewhere). */
  thread: {
    /** `running` on a CPU (or runnable), `sleeping`, `disk` (uninterruptible), `other`. */
    state: 'running' | 'sleeping' | 'disk' | 'other';
    /** The system call it was blocked in (`read`, `futex`, `epoll_wait`, `wait4`...), null if none seen. */
    syscall: string | null;
  } | null;
}
