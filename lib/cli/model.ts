// What the CLI knows about the run: one entry per reporting thread, fed line by line.
// Memory stays bounded however long the program runs: a short history for the live view,
// and running totals plus small top-N lists for the summary.
import type { LoopStats } from '../types.js';
import { applicationThread } from './labels.js';
import { type ChannelLine, type ThreadLine, type WindowLine, keepSlowest } from './protocol.js';
import { addStall, emptyStallState, type StallState } from './stalls.js';

/** Windows kept per thread for the live view's trends. */
export const HISTORY = 30;
/** Entries kept in each of the summary's lists. */
export const TOP = 5;
/** An iteration at least this long is worth naming: a worker ended in one, or seen inside one, ms. */
export const LONG_ITERATION_MS = 50;
/** A window counts as pool-saturated when work waited at least this long for a thread, ms. */
export const SATURATION_WAIT_MS = 10;

/** The parts of a snapshot the summary uses: a thread's own lines and the main thread's view of it both have them. */
export type RunStats = Omit<LoopStats, 'handles' | 'threadpool'>;

/** A window as the summary's lists keep it; `observed` when it came from the main thread's view. */
export interface WindowSample {
  time: number;
  stats: RunStats;
  observed?: boolean;
}

export type SlowIteration = WindowLine['slowest'][number] & { pid: number; threadId: number };

/**
 * Contiguous windows in which the thread pool had no free thread (saturation), or in which
 * its work waited for a CPU while threads were free (CPU wait).
 */
export interface SaturationPeriod {
  /** Wall clock at the start of the first window. */
  fromTime: number;
  /** Wall clock at the end of the last window. */
  toTime: number;
  size: number;
  peakBusy: number | null;
  peakQueued: number | null;
  /** The probe's longest queue wait, ms. */
  maxWaitMs: number;
  /** The longest part of a probe's wait its thread spent waiting for a CPU, ms; null where unknown (not Linux). */
  maxCpuWaitMs: number | null;
  open: boolean;
}

export interface Totals {
  windows: number;
  iterations: number;
  windowMs: number;
  activeMs: number;
  events: number | null;
  pollMs: number;
  checkMs: number;
  timersMs: number;
  busyMs: number;
  busyMaxMs: number;
}

export interface ThreadState {
  key: string;
  pid: number;
  threadId: number;
  ppid: number | null;
  argv: string[];
  /** Node's own flags (`process.execArgv`); empty where the reporter did not send them. */
  execArgv: string[];
  node: string;
  uv: string;
  startTime: number;
  error: string | null;
  history: WindowLine[];
  /** Sums over the thread's own windows. */
  totals: Totals;
  /** `loopStats()` since start, from the thread's own final line (absent if it sent none). */
  total: RunStats | null;
  worstWindows: WindowSample[];
  slowest: SlowIteration[];
  saturation: SaturationPeriod[];
  /** Windows in which the pool's probe waited for a CPU, not for a thread (not saturation). */
  cpuWait: SaturationPeriod[];
  ended: boolean;
  exitCode: number | null;
  lastTime: number;
  /** Wall clock at the end of the thread's last own window; null before the first. */
  ownTime: number | null;
  /** The main thread's latest view of this thread (a worker), null when never observed. */
  observed: ThreadLine | null;
  /** Its latest view while the thread was alive: what it was doing before it ended. */
  observedAlive: ThreadLine | null;
  /** Stall episodes (`stall` lines) of this thread, grouped for the summary. */
  stalls: StallState;
}

export function emptyTotals(): Totals {
  return { windows: 0, iterations: 0, windowMs: 0, activeMs: 0, events: null, pollMs: 0, checkMs: 0, timersMs: 0, busyMs: 0, busyMaxMs: 0 };
}

/**
 * The probe's longest wait in the window less the part its thread spent waiting for a CPU:
 * the time it waited for a thread, ms. `cpuWait` is missing from older reporters' lines
 * and empty off Linux; the whole wait counts then.
 */
export function threadWaitMs(stats: LoopStats): number {
  const pool = stats.threadpool;
  if (pool.queueWait.count === 0) return 0;
  const cpu = pool.cpuWait !== undefined && pool.cpuWait.count > 0 ? pool.cpuWait.maxMs : 0;
  return Math.max(0, pool.queueWait.maxMs - cpu);
}

/**
 * Whether the window shows the pool out of free threads: all of them busy, or work that
 * waited `SATURATION_WAIT_MS` or more for one (its CPU wait left out). `queued` alone is
 * not enough where `busy` is known: queued work beside an idle thread is a count in transit,
 * not a shortage. On a CPU-starved machine an idle pool's probe waits for a CPU: that is
 * `poolCpuWait`, not saturation.
 */
export function poolSaturated(stats: LoopStats): boolean {
  const pool = stats.threadpool;
  if (pool.busy !== null && pool.size > 0 && pool.busy >= pool.size) return true;
  if (pool.busy === null && pool.queued !== null && pool.queued > 0) return true;
  return threadWaitMs(stats) >= SATURATION_WAIT_MS;
}

/** Whether the probe waited `SATURATION_WAIT_MS` or more in a window that was not saturated: the pool's threads waited for CPU time. */
export function poolCpuWait(stats: LoopStats): boolean {
  const wait = stats.threadpool.queueWait;
  return wait.count > 0 && wait.maxMs >= SATURATION_WAIT_MS && !poolSaturated(stats);
}

export class Run {
  readonly threads = new Map<string, ThreadState>();
  /** Lines that were not channel lines (should not happen; counted for diagnosis). */
  rejected = 0;

  constructor(readonly startTime: number) {}

  private thread(pid: number, threadId: number, time: number): ThreadState {
    const key = `${pid}-${threadId}`;
    let state = this.threads.get(key);
    if (state === undefined) {
      state = {
        key, pid, threadId, ppid: null, argv: [], execArgv: [], node: '', uv: '', startTime: time, error: null,
        history: [], totals: emptyTotals(), total: null, worstWindows: [], slowest: [], saturation: [], cpuWait: [],
        ended: false, exitCode: null, lastTime: time, ownTime: null, observed: null, observedAlive: null,
        stalls: emptyStallState(),
      };
      this.threads.set(key, state);
    }
    return state;
  }

  /** Applies one line of the channel; returns false for anything that is not one. */
  add(line: unknown): boolean {
    const l = line as ChannelLine;
    if (typeof l !== 'object' || l === null || l.uvscope !== 1 || typeof l.pid !== 'number' || typeof l.threadId !== 'number') {
      this.rejected++;
      return false;
    }
    const state = this.thread(l.pid, l.threadId, l.time);
    if (l.type === 'start') {
      state.ppid = l.ppid;
      state.argv = l.argv;
      state.execArgv = l.execArgv ?? [];
      state.node = l.node;
      state.uv = l.uv;
      state.startTime = l.time;
    } else if (l.type === 'error') {
      state.error = l.message;
      state.ended = true;
    } else if (l.type === 'window') {
      this.addWindow(state, l);
    } else if (l.type === 'thread') {
      this.addObserved(state, l);
    } else if (l.type === 'stall') {
      addStall(state.stalls, l);
    } else {
      this.rejected++;
      return false;
    }
    return true;
  }

  private addWindow(state: ThreadState, line: WindowLine): void {
    const s = line.stats;
    if (line.argv !== undefined) state.argv = line.argv;
    state.lastTime = line.time;
    // A final window is whatever was left at exit, often a few ms: as a rate it would
    // mislead the live view, so the trends keep it only when it is a full one.
    const previous = state.history[state.history.length - 1];
    if (!line.final || previous === undefined || s.windowMs >= previous.stats.windowMs / 2) {
      state.history.push(line);
      if (state.history.length > HISTORY) state.history.shift();
    }

    const t = state.totals;
    t.windows++;
    t.iterations += s.iterations;
    t.windowMs += s.windowMs;
    t.activeMs += s.activeMs;
    if (s.events !== null) t.events = (t.events ?? 0) + s.events;
    t.pollMs += s.phases.poll.totalMs;
    t.checkMs += s.phases.check.totalMs;
    t.timersMs += s.phases.timers.totalMs;
    t.busyMs += s.busy.totalMs;
    t.busyMaxMs = Math.max(t.busyMaxMs, s.busy.maxMs);

    // The thread's own window replaces the main thread's view of the same time.
    const from = line.time - s.windowMs;
    state.worstWindows = state.worstWindows.filter((w) => !w.observed || w.time <= from || w.time - w.stats.windowMs >= line.time);
    state.ownTime = Math.max(state.ownTime ?? line.time, line.time);
    rankWorst(state, line);

    for (const record of line.slowest) keepSlowest(state.slowest, { ...record, pid: line.pid, threadId: line.threadId }, TOP);

    // The pool is process-wide: every thread of a process sees the same numbers, so the
    // periods are kept on the main thread only.
    if (line.threadId === 0) {
      trackPeriod(state.saturation, poolSaturated(s), line);
      trackPeriod(state.cpuWait, poolCpuWait(s), line);
    }

    if (line.final) {
      state.ended = true;
      state.total = line.total ?? null;
      state.exitCode = line.exitCode ?? null;
      for (const periods of [state.saturation, state.cpuWait]) {
        const last = periods[periods.length - 1];
        if (last) last.open = false;
      }
    }
  }

  /**
   * The main thread's view of a worker: whole-run numbers where the worker's own final
   * line is missing (it never returned to its loop, or was terminated), and its windows
   * where its own reporter was silent for the whole window.
   */
  private addObserved(state: ThreadState, line: ThreadLine): void {
    state.observed = line;
    if (!line.total.ended) state.observedAlive = line;
    if (line.total.ended) state.ended = true;
    state.lastTime = Math.max(state.lastTime, line.time);
    const w = line.stats;
    if (w.windowMs > 0 && (state.ownTime === null || state.ownTime <= line.time - w.windowMs)) {
      rankWorst(state, { time: line.time, stats: w, observed: true });
    }
  }

  /**
   * The thread shown in detail: a live one over an ended one, then the application's
   * (`applicationThread`: not npx's or npm's, its main thread over a pool worker when the
   * main thread did work), then the most work.
   */
  focus(): ThreadState | undefined {
    const usable = [...this.threads.values()].filter((t) => t.error === null || t.totals.windows > 0);
    const live = usable.filter((t) => !t.ended);
    const pool = (live.length > 0 ? live : usable).sort((a, b) => b.totals.activeMs - a.totals.activeMs);
    return applicationThread(pool, (t) => t.totals.activeMs, live.length > 0 ? live : usable);
  }
}

/** Extends the open period with the window `line`, starts one, or closes it. */
function trackPeriod(periods: SaturationPeriod[], active: boolean, line: WindowLine): void {
  const last = periods[periods.length - 1];
  if (!active) {
    if (last?.open) last.open = false;
    return;
  }
  const pool = line.stats.threadpool;
  const wait = pool.queueWait.count > 0 ? pool.queueWait.maxMs : 0;
  const cpu = pool.cpuWait !== undefined && pool.cpuWait.count > 0 ? pool.cpuWait.maxMs : null;
  if (last?.open) {
    last.toTime = line.time;
    last.peakBusy = maxNullable(last.peakBusy, pool.busy);
    last.peakQueued = maxNullable(last.peakQueued, pool.queued);
    last.maxWaitMs = Math.max(last.maxWaitMs, wait);
    last.maxCpuWaitMs = maxNullable(last.maxCpuWaitMs, cpu);
    last.size = Math.max(last.size, pool.size);
    return;
  }
  periods.push({
    fromTime: line.time - line.stats.windowMs, toTime: line.time, size: pool.size,
    peakBusy: pool.busy, peakQueued: pool.queued, maxWaitMs: wait, maxCpuWaitMs: cpu, open: true,
  });
  // Bounded: keep the first periods and the longest of the rest.
  if (periods.length > 2 * TOP) {
    const rest = periods.slice(TOP, -1).sort((a, b) => b.toTime - b.fromTime - (a.toTime - a.fromTime));
    periods.splice(TOP, periods.length - TOP - 1, ...rest.slice(0, TOP - 1).sort((a, b) => a.fromTime - b.fromTime));
  }
}

/** Worst windows: by active time (a short final window at 100% is not a bad second). */
function rankWorst(state: ThreadState, sample: WindowSample): void {
  const worst = state.worstWindows;
  const rank = (w: WindowSample) => w.stats.activeMs;
  if (worst.length < TOP || rank(sample) > rank(worst[worst.length - 1]!)) {
    worst.push(sample);
    worst.sort((a, b) => rank(b) - rank(a));
    if (worst.length > TOP) worst.length = TOP;
  }
}

/**
 * The thread's numbers since start: its own final line's, else the main thread's latest
 * view of it (a worker that never returned to its loop, or was terminated, sends no final
 * line); null when neither came (a process that died).
 */
export function wholeRun(t: ThreadState): RunStats | null {
  return t.total ?? t.observed?.total ?? null;
}

/**
 * The thread's latest window: its own, unless its own reporter has been silent since
 * before the main thread's latest view of it began.
 */
export function latestWindow(t: ThreadState): RunStats | null {
  const own = t.history[t.history.length - 1];
  const seen = t.observed;
  if (seen !== null && (own === undefined || own.time <= seen.time - seen.stats.windowMs)) return seen.stats;
  return own?.stats ?? null;
}

function maxNullable(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
