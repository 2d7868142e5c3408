// What the CLI knows about the run: one entry per reporting thread, fed line by line.
// Memory stays bounded however long the program runs: a short history for the live view,
// and running totals plus small top-N lists for the summary.
import type { LoopStats } from '../types.js';
import { type ChannelLine, type WindowLine, keepSlowest } from './protocol.js';

/** Windows kept per thread for the live view's trends. */
export const HISTORY = 30;
/** Entries kept in each of the summary's lists. */
export const TOP = 5;
/** A window counts as pool-saturated when work waited at least this long for a thread, ms. */
export const SATURATION_WAIT_MS = 10;

export type SlowIteration = WindowLine['slowest'][number] & { pid: number; threadId: number };

/** Contiguous windows in which the thread pool had no free thread. */
export interface SaturationPeriod {
  /** Wall clock at the start of the first saturated window. */
  fromTime: number;
  /** Wall clock at the end of the last saturated window. */
  toTime: number;
  size: number;
  peakBusy: number | null;
  peakQueued: number | null;
  maxWaitMs: number;
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
  node: string;
  uv: string;
  startTime: number;
  error: string | null;
  history: WindowLine[];
  totals: Totals;
  /** `loopStats()` since start, from the final line (absent if the process died without one). */
  total: LoopStats | null;
  worstWindows: WindowLine[];
  slowest: SlowIteration[];
  saturation: SaturationPeriod[];
  ended: boolean;
  exitCode: number | null;
  lastTime: number;
}

export function emptyTotals(): Totals {
  return { windows: 0, iterations: 0, windowMs: 0, activeMs: 0, events: null, pollMs: 0, checkMs: 0, timersMs: 0, busyMs: 0, busyMaxMs: 0 };
}

/**
 * Whether the window shows the pool out of free threads: all of them busy, or work that
 * waited `SATURATION_WAIT_MS` or more for one. `queued` alone is not enough where `busy`
 * is known: queued work beside an idle thread is a count in transit, not a shortage.
 */
export function poolSaturated(stats: LoopStats): boolean {
  const pool = stats.threadpool;
  if (pool.busy !== null && pool.size > 0 && pool.busy >= pool.size) return true;
  if (pool.busy === null && pool.queued !== null && pool.queued > 0) return true;
  return pool.queueWait.count > 0 && pool.queueWait.maxMs >= SATURATION_WAIT_MS;
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
        key, pid, threadId, ppid: null, argv: [], node: '', uv: '', startTime: time, error: null,
        history: [], totals: emptyTotals(), total: null, worstWindows: [], slowest: [], saturation: [],
        ended: false, exitCode: null, lastTime: time,
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
      state.node = l.node;
      state.uv = l.uv;
      state.startTime = l.time;
    } else if (l.type === 'error') {
      state.error = l.message;
      state.ended = true;
    } else if (l.type === 'window') {
      this.addWindow(state, l);
    } else {
      this.rejected++;
      return false;
    }
    return true;
  }

  private addWindow(state: ThreadState, line: WindowLine): void {
    const s = line.stats;
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

    // Worst windows: by active time (a short final window at 100% is not a bad second).
    const worst = state.worstWindows;
    const rank = (w: WindowLine) => w.stats.activeMs;
    if (worst.length < TOP || rank(line) > rank(worst[worst.length - 1]!)) {
      worst.push(line);
      worst.sort((a, b) => rank(b) - rank(a));
      if (worst.length > TOP) worst.length = TOP;
    }

    for (const record of line.slowest) keepSlowest(state.slowest, { ...record, pid: line.pid, threadId: line.threadId }, TOP);

    // The pool is process-wide: every thread of a process sees the same numbers, so the
    // periods are kept on the main thread only.
    if (line.threadId === 0) {
      const periods = state.saturation;
      const last = periods[periods.length - 1];
      const pool = s.threadpool;
      if (poolSaturated(s)) {
        const wait = pool.queueWait.count > 0 ? pool.queueWait.maxMs : 0;
        if (last?.open) {
          last.toTime = line.time;
          last.peakBusy = maxNullable(last.peakBusy, pool.busy);
          last.peakQueued = maxNullable(last.peakQueued, pool.queued);
          last.maxWaitMs = Math.max(last.maxWaitMs, wait);
          last.size = Math.max(last.size, pool.size);
        } else {
          periods.push({
            fromTime: line.time - s.windowMs, toTime: line.time, size: pool.size,
            peakBusy: pool.busy, peakQueued: pool.queued, maxWaitMs: wait, open: true,
          });
          // Bounded: keep the first periods and the longest of the rest.
          if (periods.length > 2 * TOP) {
            const rest = periods.slice(TOP, -1).sort((a, b) => b.toTime - b.fromTime - (a.toTime - a.fromTime));
            periods.splice(TOP, periods.length - TOP - 1, ...rest.slice(0, TOP - 1).sort((a, b) => a.fromTime - b.fromTime));
          }
        }
      } else if (last?.open) {
        last.open = false;
      }
    }

    if (line.final) {
      state.ended = true;
      state.total = line.total ?? null;
      state.exitCode = line.exitCode ?? null;
      const last = state.saturation[state.saturation.length - 1];
      if (last) last.open = false;
    }
  }

  /** The thread shown in detail: the live main thread that has done the most work. */
  focus(): ThreadState | undefined {
    let best: ThreadState | undefined;
    const score = (t: ThreadState) => (t.ended ? 0 : 1e12) + (t.threadId === 0 ? 1e11 : 0) + t.totals.activeMs;
    for (const t of this.threads.values()) {
      if (t.error !== null && t.totals.windows === 0) continue;
      if (best === undefined || score(t) > score(best)) best = t;
    }
    return best;
  }
}

function maxNullable(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
