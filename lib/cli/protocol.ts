// The private channel between the `uvscope` CLI and the programs it runs.
//
// The CLI makes a private temporary directory (mode 0700) and names it in UVSCOPE_CLI_DIR.
// `uvscope/register`, preloaded into every Node process through NODE_OPTIONS, sees the
// variable and starts a reporter in each thread; the reporter appends one JSON line per
// window to `<dir>/<pid>-<threadId>.jsonl` with synchronous writes. The CLI tails the files.
//
// Why files: they never touch the program's stdin/stdout/stderr or its fds (nothing is
// inherited but an environment variable); they need no handle in the program (a socket
// would be one more handle in every listing, and its asynchronous writes would lose the
// last window at exit); a synchronous append from process.on('exit') always lands; any
// number of processes, grandchildren and worker threads report without coordination,
// each to its own file; and a slow CLI only makes files grow, never blocks the program.
//
// The lines are also the CLI's machine-readable output (`--json`, `--out`), documented in
// the README's "JSON lines" section: change them only in step with it.
import type { IterationRecord, LoopStats, ThreadActivity, ThreadStats } from '../types.js';
import type { StallRecord } from '../types.js';

/** Environment variable holding the channel directory. Its presence turns reporting on. */
export const ENV_DIR = 'UVSCOPE_CLI_DIR';
/** Window length in ms. */
export const ENV_INTERVAL = 'UVSCOPE_CLI_INTERVAL_MS';
/** Iterations at least this busy (ms) are sent with their phase breakdown. */
export const ENV_SLOW = 'UVSCOPE_CLI_SLOW_MS';
/** A stall episode of the program's threads (StallRecord fields), written when it ends. */
export type StallLine = { uvscope: 1; type: 'stall'; pid: number; time: number } & StallRecord;
/** Stall capture threshold in ms (0: off). */
export const ENV_STALL = 'UVSCOPE_CLI_STALL_MS';
export const STALL_DEFAULT_MS = 50;
export const STALL_MAX_MS = 3_600_000;
/** The CLI's pid: a program started directly by a CLI that vanished without cleaning up ends itself. */
export const ENV_PID = 'UVSCOPE_CLI_PID';
/** '1': track handle creation (trackHandles()) and name where what keeps the loop alive was created. */
export const ENV_HANDLE_STACKS = 'UVSCOPE_CLI_HANDLE_STACKS';

/**
 * `slow` or `all`: also write `timeline` lines (every slow iteration, or every iteration),
 * for `--trace`/`--report`. Unset in default runs, which then write none.
 */
export const ENV_TIMELINE = 'UVSCOPE_CLI_TIMELINE';

/** Tag and format version carried by every line. */
export const FORMAT_VERSION = 1;

/** Who is reporting: sent once, first, by each thread. */
export interface StartLine {
  uvscope: 1;
  type: 'start';
  pid: number;
  ppid: number;
  /** 0 for a process's main thread, the worker's `threadId` otherwise. */
  threadId: number;
  /** `process.argv` of the process (in a worker, at preload: `[node]` only; see `WindowLine.argv`). */
  argv: string[];
  /** `process.execArgv`: Node's own flags (`--test`, `--inspect`...), which `argv` leaves out. Absent from older reporters. */
  execArgv?: string[];
  /** `process.version`. */
  node: string;
  /** `process.versions.uv`. */
  uv: string;
  /** Wall clock (`Date.now()`) when reporting started. */
  time: number;
}

/** One window of one thread. */
export interface WindowLine {
  uvscope: 1;
  type: 'window';
  pid: number;
  threadId: number;
  /** Wall clock (`Date.now()`) at the end of the window. */
  time: number;
  /** `loopStats(previous)`: the window. */
  stats: LoopStats;
  /**
   * The slowest iterations (busy at least the CLI's `--slow-ms`) that completed since the
   * previous line, up to 5, slowest first. Each has `time`: its start on the wall clock.
   * The final line includes those completed up to the exit.
   */
  slowest: (IterationRecord & { time: number })[];
  /**
   * Node's names for what keeps this thread's loop alive now: `process.getActiveResourcesInfo()`
   * counted by name (`TCPServerWrap`, `Timeout`, `FSReqCallback`, ...).
   */
  keepAlive: Record<string, number>;
  /**
   * What keeps this thread's loop alive now, from `whyAlive()`: the active referenced
   * handles named as a person recognizes them, and the requests in flight. Null when more
   * than `ALIVE_DETAIL_MAX` handles are referenced (the reporter then sends only the counts
   * in `stats.handles`, to stay cheap) or when the walk failed.
   */
  alive: AliveLine | null;
  /** True on the last line, written from `process.on('exit')`. */
  final: boolean;
  /**
   * `process.argv` when it changed since the thread's previous line: a worker's script is
   * in it only once the worker runs, after the `start` line was written.
   */
  argv?: string[];
  /** On the last line only: `loopStats()` since recording started (whole-run percentiles). */
  total?: LoopStats;
  /** On the last line only: the exit code the process is exiting with. */
  exitCode?: number;
}

/** A `ThreadStats` without the parts a `thread` line leaves out (the pool is in the main thread's own lines). */
export type ObservedStats = Omit<ThreadStats, 'threadpool' | 'handles' | 'activity' | 'current'>;

/**
 * Another thread of the process as its main thread sees it through `threads()`: written by
 * the main thread's reporter once per window for each other thread that is alive, once
 * when it has ended, and at exit. A thread whose own reporter is silent (a worker that
 * never returns to its loop, parks in `Atomics.wait`, or is terminated) is still reported;
 * the CLI prefers a thread's own `window` lines and fills the gaps from these.
 */
export interface ThreadLine {
  uvscope: 1;
  type: 'thread';
  pid: number;
  /** The observed thread (a worker's `threadId`). */
  threadId: number;
  /** Wall clock (`Date.now()`) of the main thread's read. */
  time: number;
  /** `threads(previous)`: the window since the main thread's previous read. */
  stats: ObservedStats;
  /** `threads()`: since the thread's recording started (whole-run numbers). */
  total: ObservedStats;
  /** What the thread was doing at the read (or, ended, when it ended). */
  activity: ThreadActivity;
  /** True on the lines the main thread writes from `process.on('exit')`. */
  final: boolean;
}

/** `whyAlive()` in a window line: names counted, so a thousand connections stay one entry each. */
export interface AliveLine {
  /** Active referenced handles (uvscope's own left out). */
  handles: number;
  /** Requests in flight on the loop (`uv_loop_t.active_reqs`). */
  activeRequests: number;
  /** Each handle named (`tcp server 127.0.0.1:8080`, `timer due in 90 ms every 100 ms`, ...), equal names counted, most numerous first, at most `ALIVE_NAMES`. */
  named: { name: string; count: number }[];
}

/** uvscope could not start in this thread (the program runs on, unobserved). */
export interface ErrorLine {
  uvscope: 1;
  type: 'error';
  pid: number;
  threadId: number;
  time: number;
  message: string;
}

/**
 * The iterations behind a timeline (only when the CLI sets `UVSCOPE_CLI_TIMELINE`): one line
 * per window with every iteration completed since the previous one (slow ones, or all with
 * `--trace-all`), and one empty line right after `start` so the clock is known first.
 */
export interface TimelineLine {
  uvscope: 1;
  type: 'timeline';
  pid: number;
  threadId: number;
  /** Wall clock (`Date.now()`) of the write. */
  time: number;
  /** `uv_hrtime()` in µs at `performance.now()` 0 of this thread: add it to `startMs * 1000` for Node's trace clock. */
  hrOriginUs: number;
  /** The iterations, oldest first; `startMs` on this thread's `performance.now()` base. */
  iterations: IterationRecord[];
  /** Iterations lost since the previous line (the ring overran, or over `TIMELINE_MAX_PER_WINDOW`). */
  dropped: number;
}

export type ChannelLine = StartLine | WindowLine | ThreadLine | ErrorLine | TimelineLine | StallLine;

/** Bounds shared by the CLI's option checks and the reporter's reading of the environment. */
export const INTERVAL_MIN_MS = 100;
export const INTERVAL_MAX_MS = 60_000;
export const INTERVAL_DEFAULT_MS = 1000;
export const SLOW_DEFAULT_MS = 10;
export const SLOW_MAX_MS = 86_400_000;
/** The reporter names what keeps the loop alive only up to this many referenced handles. */
export const ALIVE_DETAIL_MAX = 256;
/** Distinct names sent per window in `alive.named`. */
export const ALIVE_NAMES = 8;
/** Slow iterations sent per window. */
export const SLOWEST_PER_WINDOW = 5;

/** Iterations sent per window in a `timeline` line at most (a cap on memory and file size). */
export const TIMELINE_MAX_PER_WINDOW = 100_000;

/** Inserts `record` into `list` (slowest first), keeping at most `max`. */
export function keepSlowest<T extends { busyMs: number }>(list: T[], record: T, max: number): void {
  if (list.length === max && record.busyMs <= list[max - 1]!.busyMs) return;
  let i = list.length;
  while (i > 0 && list[i - 1]!.busyMs < record.busyMs) i--;
  list.splice(i, 0, record);
  if (list.length > max) list.length = max;
}
