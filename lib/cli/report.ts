// `--report <file.html>` and `uvscope report <run.jsonl> -o <file.html>`: one self-contained
// HTML page that works offline from disk. No network request of any kind: uPlot and the
// page's own script are inlined, fonts are the system's. The run's data is embedded as JSON
// in a `<script type="application/json">` with `< > &` U+2028 U+2029 escaped, every element
// is built with `textContent`, and a Content-Security-Policy meta tag allows exactly the two
// inline scripts and the one style by hash: argv, paths, handle and function names are the
// program's data, never markup.
//
// Memory and size stay bounded however long the run: windows are merged in pairs past
// `MAX_POINTS` per thread, and at most `SLOW_CAP` slow iterations (the slowest) are kept.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { LoopStats, StallFrame, StallRecord } from '../types.js';
import { CLIENT_SOURCE, STYLE } from './report-client.js';
import { poolCpuWait, poolSaturated } from './model.js';
import { stallWhere } from './stalls.js';
import type { AliveLine, StartLine, ThreadLine, TimelineLine, WindowLine } from './protocol.js';
import { frameText, processLabel, threadLabel } from './trace.js';

/** Points per chart series, per thread: past this, adjacent windows are merged in pairs. */
export const MAX_POINTS = 1500;
/** Slow iterations kept per thread (the slowest ones). */
export const SLOW_CAP = 5000;
/** Stalls kept per thread (the longest ones). */
export const STALL_CAP = 200;
/** clinic doctor's delay rules: a problem at p99 median >= 10 ms or max >= 100 ms. */
export const DELAY_P99_MS = 10;
export const DELAY_MAX_MS = 100;
/** A loop with median utilization at least this had no headroom. */
export const SATURATED_UTILIZATION = 0.95;

/** What each phase's busy time means in a Node program. */
export const PHASE_MEANING: Record<'poll' | 'check' | 'timers', string> = {
  poll: 'I/O callbacks: request handlers, socket, stream and file callbacks',
  check: 'setImmediate callbacks',
  timers: 'setTimeout and setInterval callbacks (and close callbacks)',
};

/** One bucket of windows (one window, or several merged). */
interface Bucket {
  end: number;
  windowMs: number;
  activeMs: number;
  poll: number;
  check: number;
  timers: number;
  p99: number;
  max: number;
  poolBusy: number | null;
  poolQueued: number | null;
  queueWait: number | null;
  cpuWait: number | null;
  /** The model's rules (the summary's): windows the pool was out of threads, or waited for a CPU. */
  saturated: number;
  cpuWaited: number;
  handles: Record<string, number>;
  count: number;
}

interface Slow {
  t: number;
  busy: number;
  duration: number;
  pollWait: number;
  poll: number;
  check: number;
  timers: number;
}

interface Stall {
  t: number;
  blockedMs: number | null;
  phase: string | null;
  stack: string[];
  /** Where it was, as the summary groups stalls (`readFileSync ← handler (server.js:42)`). */
  where: string | null;
}

const isFrame = (f: unknown): f is StallFrame => {
  const x = f as Partial<StallFrame> | null;
  return typeof x === 'object' && x !== null && typeof x.url === 'string' && typeof x.functionName === 'string' && typeof x.line === 'number';
};

/** The summary's `where` of a saved stall line's stack (a file's data: frames checked). */
function stallWhereOf(stack: unknown, capture: unknown): string | null {
  const frames = Array.isArray(stack) ? stack.filter(isFrame) : [];
  if (frames.length === 0) return null;
  return stallWhere({ stack: frames, capture: (typeof capture === 'string' ? capture : 'none') as StallRecord['capture'], thread: null });
}

interface ThreadData {
  pid: number;
  threadId: number;
  argv: string[];
  start: number | null;
  buckets: Bucket[];
  /** Windows per bucket now (1, 2, 4, ...). */
  factor: number;
  pending: Bucket | null;
  slow: Slow[];
  slowSeen: number;
  fromTimeline: boolean;
  /** Wall clock minus `performance.now()` of the thread, from its windows. */
  wallOffset: number | null;
  stalls: Stall[];
  /** Episodes seen so far only in their at-once line (the capture side's), by iteration. */
  stallsOpen: Map<number, Stall>;
  stallsSeen: number;
  poolSize: number | null;
  poolUsed: boolean;
  alive: AliveLine | null;
  keepAlive: Record<string, number> | null;
  exitCode: number | null;
  error: string | null;
  windows: number;
  /** Windows from the main thread's view (`thread` lines), used when the thread sent none of its own. */
  observed: Bucket[];
  /** The main thread's last view of what the thread was doing. */
  activity: string | null;
  /** From that view: inside an iteration this long (ms), and whether waiting in the kernel rather than running. */
  stuckMs: number;
  stuckWaiting: boolean;
  stuckEnded: boolean;
  stuckSyscall: string | null;
  /** The thread's CPU time since it started at that view (Linux), ms; null where unknown. */
  stuckCpuMs: number | null;
}

/** A finding at the top of the report, linked to the chart that shows it. */
export interface Verdict {
  level: 'problem' | 'ok' | 'info';
  title: string;
  text: string;
  chart: string;
}

function mergeInto(a: Bucket, b: Bucket): void {
  a.end = b.end;
  a.windowMs += b.windowMs;
  a.activeMs += b.activeMs;
  a.poll += b.poll;
  a.check += b.check;
  a.timers += b.timers;
  a.p99 = Math.max(a.p99, b.p99);
  a.max = Math.max(a.max, b.max);
  const mx = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  a.poolBusy = mx(a.poolBusy, b.poolBusy);
  a.poolQueued = mx(a.poolQueued, b.poolQueued);
  a.queueWait = mx(a.queueWait, b.queueWait);
  a.cpuWait = mx(a.cpuWait, b.cpuWait);
  a.saturated += b.saturated;
  a.cpuWaited += b.cpuWaited;
  a.handles = b.handles;
  a.count += b.count;
}

function bucketOf(time: number, s: Omit<LoopStats, 'handles' | 'threadpool'> & Partial<Pick<LoopStats, 'handles' | 'threadpool'>>): Bucket {
  const pool = s.threadpool;
  const started = pool !== undefined && pool.started;
  return {
    end: time,
    windowMs: s.windowMs,
    activeMs: s.activeMs,
    poll: s.phases.poll.totalMs,
    check: s.phases.check.totalMs,
    timers: s.phases.timers.totalMs,
    p99: s.busy.p99Ms,
    max: s.busy.maxMs,
    poolBusy: started ? pool.busy : null,
    poolQueued: started ? pool.queued : null,
    queueWait: started && pool.queueWait.count > 0 ? pool.queueWait.maxMs : null,
    cpuWait: started && pool.cpuWait !== undefined && pool.cpuWait.count > 0 ? pool.cpuWait.maxMs : null,
    saturated: started && poolSaturated(s as LoopStats) ? 1 : 0,
    cpuWaited: started && poolCpuWait(s as LoopStats) ? 1 : 0,
    handles: { ...(s.handles?.byType ?? {}) },
    count: 1,
  };
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) + ' ms';
const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** Collects channel lines (live, or read back from a `--json --out` file) into the report's data. */
export class ReportBuilder {
  private readonly threads = new Map<string, ThreadData>();
  private summary: { command?: unknown; durationMs?: unknown; exitCode?: unknown; signal?: unknown } | null = null;
  private firstTime: number | null = null;
  lines = 0;

  private thread(pid: number, threadId: number): ThreadData {
    const key = `${pid}-${threadId}`;
    let t = this.threads.get(key);
    if (t === undefined) {
      t = { pid, threadId, argv: [], start: null, buckets: [], factor: 1, pending: null, slow: [], slowSeen: 0, fromTimeline: false, wallOffset: null, stalls: [], stallsOpen: new Map(), stallsSeen: 0, poolSize: null, poolUsed: false, alive: null, keepAlive: null, exitCode: null, error: null, windows: 0, observed: [], activity: null, stuckMs: 0, stuckWaiting: false, stuckEnded: false, stuckSyscall: null, stuckCpuMs: null };
      this.threads.set(key, t);
    }
    return t;
  }

  private addSlow(t: ThreadData, s: Slow): void {
    t.slowSeen++;
    t.slow.push(s);
    if (t.slow.length >= 2 * SLOW_CAP) {
      t.slow.sort((a, b) => b.busy - a.busy);
      t.slow.length = SLOW_CAP;
    }
  }

  private addBucket(t: ThreadData, b: Bucket): void {
    if (t.pending === null) t.pending = b;
    else mergeInto(t.pending, b);
    if (t.pending.count < t.factor) return;
    t.buckets.push(t.pending);
    t.pending = null;
    if (t.buckets.length <= MAX_POINTS) return;
    // Halve the resolution: pairs of buckets become one, and later windows go in pairs too.
    const merged: Bucket[] = [];
    for (let i = 0; i < t.buckets.length; i += 2) {
      const a = t.buckets[i]!;
      const next = t.buckets[i + 1];
      if (next !== undefined) mergeInto(a, next);
      merged.push(a);
    }
    t.buckets = merged;
    t.factor *= 2;
  }

  add(line: unknown): void {
    if (typeof line !== 'object' || line === null) return;
    this.lines++;
    const l = line as { type?: unknown; pid?: unknown; threadId?: unknown; time?: unknown };
    if (l.type === 'summary') {
      this.summary = line as ReportBuilder['summary'];
      return;
    }
    if (typeof l.pid !== 'number' || typeof l.threadId !== 'number') return;
    if (typeof l.time === 'number' && (this.firstTime === null || l.time < this.firstTime)) this.firstTime = l.time;
    const t = this.thread(l.pid, l.threadId);
    switch (l.type) {
      case 'start': {
        const s = line as StartLine;
        t.argv = Array.isArray(s.argv) ? s.argv.map(String) : [];
        t.start = s.time;
        break;
      }
      case 'window': {
        const w = line as WindowLine;
        t.windows++;
        t.wallOffset = w.time - w.stats.timestamp;
        const pool = w.stats.threadpool;
        if (pool !== undefined && pool.started) {
          t.poolUsed = true;
          t.poolSize = pool.size;
        }
        this.addBucket(t, bucketOf(w.time, w.stats));
        if (!t.fromTimeline) {
          for (const it of w.slowest) this.addSlow(t, { t: it.time, busy: it.busyMs, duration: it.durationMs, pollWait: it.pollWaitMs, poll: it.pollMs, check: it.checkMs, timers: it.timersMs });
        }
        if (w.final) {
          t.alive = w.alive;
          t.keepAlive = w.keepAlive;
          t.exitCode = w.exitCode ?? null;
        }
        break;
      }
      case 'timeline': {
        const tl = line as TimelineLine;
        t.fromTimeline = true;
        // Each timeline line follows its window line, whose clock pair gives the wall time.
        const offset = t.wallOffset;
        if (offset === null) break;
        for (const it of tl.iterations) {
          this.addSlow(t, { t: offset + it.startMs, busy: it.busyMs, duration: it.durationMs, pollWait: it.pollWaitMs, poll: it.pollMs, check: it.checkMs, timers: it.timersMs });
        }
        break;
      }
      case 'thread': {
        // A worker whose own reporter is silent (parked, in a long callback, terminated)
        // still has a section, from its process's main thread's view.
        const th = line as ThreadLine;
        if (th.stats !== undefined && t.observed.length < MAX_POINTS * 4) t.observed.push(bucketOf(th.time, th.stats));
        const a = th.activity;
        if (a !== undefined && a !== null) {
          // An ended thread's busyMs is the iteration it ended in (terminated while busy).
          const inside = a.state === 'running' || a.state === 'busy' || a.state === 'blocked' || a.state === 'ended';
          t.stuckMs = inside ? a.busyMs : 0;
          t.stuckEnded = a.state === 'ended';
          // An ended thread keeps what it was last seen doing alive (blocked or running).
          if (a.state !== 'ended') {
            t.stuckWaiting = a.state === 'blocked';
            t.stuckSyscall = a.kernel?.syscall ?? null;
            t.stuckCpuMs = a.kernel?.cpuMs ?? null;
          }
        }
        if (a !== undefined && a !== null) t.activity = `${a.state}${a.kernel?.syscall ? ` in ${a.kernel.syscall}` : ''}${a.state !== 'idle' && a.state !== 'ended' ? `, ${ms(a.busyMs)} into its iteration` : ''}`;
        break;
      }
      case 'stall': {
        // An episode comes twice: at once from the capture side while the thread is blocked
        // (busyMs null), and again when its iteration ended (final busyMs). One episode each.
        const s = line as { startMs?: unknown; time?: unknown; blockedMs?: unknown; busyMs?: unknown; iteration?: unknown; phase?: unknown; stack?: unknown; capture?: unknown };
        const when = typeof s.time === 'number' ? s.time : typeof s.startMs === 'number' && t.wallOffset !== null ? t.wallOffset + s.startMs : null;
        if (when === null) break;
        const final = typeof s.busyMs === 'number';
        const stall: Stall = {
          t: when,
          blockedMs: final ? (s.busyMs as number) : typeof s.blockedMs === 'number' ? s.blockedMs : null,
          phase: typeof s.phase === 'string' ? s.phase : null,
          stack: Array.isArray(s.stack) ? (s.stack as object[]).slice(0, 20).map((f) => frameText(f)) : [],
          where: stallWhereOf(s.stack, s.capture),
        };
        const iteration = typeof s.iteration === 'number' ? s.iteration : null;
        if (iteration !== null && !final) {
          if (!t.stallsOpen.has(iteration)) t.stallsSeen++;
          t.stallsOpen.set(iteration, stall);
          break;
        }
        const open = iteration === null ? undefined : t.stallsOpen.get(iteration);
        if (open === undefined) t.stallsSeen++;
        else {
          t.stallsOpen.delete(iteration!);
          if (stall.stack.length === 0) {
            stall.stack = open.stack;
            stall.where = open.where;
          }
        }
        t.stalls.push(stall);
        if (t.stalls.length >= 2 * STALL_CAP) {
          t.stalls.sort((a, b) => (b.blockedMs ?? 0) - (a.blockedMs ?? 0));
          t.stalls.length = STALL_CAP;
        }
        break;
      }
      case 'error': {
        t.error = String((line as { message?: unknown }).message);
        break;
      }
    }
  }

  /** The data embedded in the page. */
  data(): ReportData {
    const t0 = this.firstTime ?? 0;
    const threads: ThreadReport[] = [];
    const ordered = [...this.threads.values()].sort((a, b) => a.pid - b.pid || a.threadId - b.threadId);
    for (const t of ordered) {
      const own = t.pending === null ? t.buckets : [...t.buckets, t.pending];
      const fromMain = own.length === 0 && t.observed.length > 0;
      const buckets = fromMain ? t.observed.slice(-MAX_POINTS) : own;
      const key = `p${t.pid}t${t.threadId}`;
      const main = ordered.find((m) => m.pid === t.pid && m.threadId === 0);
      const label = `${processLabel(main?.argv ?? t.argv, t.pid)} · ${threadLabel(t.threadId)}`;
      const slow = [...t.slow].sort((a, b) => b.busy - a.busy).slice(0, SLOW_CAP).sort((a, b) => a.t - b.t);
      const stalls = [...t.stalls, ...t.stallsOpen.values()].sort((a, b) => (b.blockedMs ?? 0) - (a.blockedMs ?? 0)).slice(0, STALL_CAP).sort((a, b) => a.t - b.t);
      const sec = (wall: number) => Math.round(wall - t0) / 1000;
      const handleTypes = new Map<string, number>();
      for (const b of buckets) for (const [k, v] of Object.entries(b.handles)) handleTypes.set(k, Math.max(handleTypes.get(k) ?? 0, v));
      const types = [...handleTypes].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k]) => k);
      threads.push({
        key,
        pid: t.pid,
        threadId: t.threadId,
        label,
        argv: main?.argv ?? t.argv,
        error: t.error,
        windowsPerPoint: t.factor,
        windows: fromMain ? t.observed.length : t.windows,
        seenFromMain: fromMain,
        activity: t.activity,
        series: {
          t: buckets.map((b) => sec(b.end)),
          utilization: buckets.map((b) => (b.windowMs > 0 ? Math.round((b.activeMs / b.windowMs) * 1000) / 10 : 0)),
          poll: buckets.map((b) => b.poll),
          check: buckets.map((b) => b.check),
          timers: buckets.map((b) => b.timers),
          p99: buckets.map((b) => b.p99),
          max: buckets.map((b) => b.max),
          poolBusy: buckets.map((b) => b.poolBusy),
          poolQueued: buckets.map((b) => b.poolQueued),
          queueWait: buckets.map((b) => b.queueWait),
          handles: Object.fromEntries(types.map((k) => [k, buckets.map((b) => b.handles[k] ?? 0)])),
        },
        poolSize: t.poolSize,
        poolUsed: t.poolUsed,
        slow: { t: slow.map((s) => sec(s.t)), busy: slow.map((s) => s.busy), duration: slow.map((s) => s.duration), pollWait: slow.map((s) => s.pollWait), poll: slow.map((s) => s.poll), check: slow.map((s) => s.check), timers: slow.map((s) => s.timers), seen: t.slowSeen, every: t.fromTimeline },
        stalls: stalls.map((s) => ({ ...s, t: sec(s.t) })),
        stallsSeen: t.stallsSeen,
        alive: t.alive,
        keepAlive: t.keepAlive,
        exitCode: t.exitCode,
        verdicts: verdicts(t, buckets, key, sec),
      });
    }
    const s = this.summary;
    return {
      command: Array.isArray(s?.command) ? (s.command as unknown[]).map(String) : (threads[0]?.argv ?? []),
      durationMs: typeof s?.durationMs === 'number' ? s.durationMs : null,
      exitCode: typeof s?.exitCode === 'number' ? s.exitCode : null,
      signal: typeof s?.signal === 'string' ? s.signal : null,
      startTime: t0,
      limits: { maxPoints: MAX_POINTS, slowCap: SLOW_CAP, stallCap: STALL_CAP },
      threads,
    };
  }
}

export interface ThreadReport {
  key: string;
  pid: number;
  threadId: number;
  label: string;
  argv: string[];
  error: string | null;
  windowsPerPoint: number;
  windows: number;
  /** True when the thread sent no window of its own: its charts are its process's main thread's view of it. */
  seenFromMain: boolean;
  /** The main thread's last view of what it was doing (`busy in futex, 120 ms into its iteration`). */
  activity: string | null;
  series: {
    t: number[];
    utilization: number[];
    poll: number[];
    check: number[];
    timers: number[];
    p99: number[];
    max: number[];
    poolBusy: (number | null)[];
    poolQueued: (number | null)[];
    queueWait: (number | null)[];
    handles: Record<string, number[]>;
  };
  poolSize: number | null;
  poolUsed: boolean;
  slow: { t: number[]; busy: number[]; duration: number[]; pollWait: number[]; poll: number[]; check: number[]; timers: number[]; seen: number; every: boolean };
  stalls: Stall[];
  stallsSeen: number;
  alive: AliveLine | null;
  keepAlive: Record<string, number> | null;
  exitCode: number | null;
  verdicts: Verdict[];
}

export interface ReportData {
  command: string[];
  durationMs: number | null;
  exitCode: number | null;
  signal: string | null;
  startTime: number;
  limits: { maxPoints: number; slowCap: number; stallCap: number };
  threads: ThreadReport[];
}

/** The findings for one thread, from uvscope's own evidence, each naming the chart that shows it. */
function verdicts(t: ThreadData, buckets: Bucket[], key: string, sec: (wall: number) => number): Verdict[] {
  const out: Verdict[] = [];
  if (t.windows === 0 && t.observed.length > 0) out.push({ level: 'info', title: 'Seen from the main thread', text: `This thread's own reporter sent nothing (it never returned to its loop, was parked, or was terminated); its numbers are its process's main thread's view of it.${t.activity !== null ? ` Last seen: ${t.activity}.` : ''}`, chart: `${key}-util` });
  if (t.error !== null) out.push({ level: 'info', title: 'Not observed', text: `uvscope could not start in this thread: ${t.error}`, chart: `${key}-util` });
  if (buckets.length === 0) return out;

  const maxBusy = Math.max(...buckets.map((b) => b.max));
  const worst = buckets.find((b) => b.max === maxBusy)!;
  const p99Median = median(buckets.map((b) => b.p99));
  const phases = { poll: 0, check: 0, timers: 0 };
  for (const b of buckets) {
    phases.poll += b.poll;
    phases.check += b.check;
    phases.timers += b.timers;
  }
  const busyTotal = phases.poll + phases.check + phases.timers;
  const [topPhase, topMs] = (Object.entries(phases) as ['poll' | 'check' | 'timers', number][]).sort((a, b) => b[1] - a[1])[0]!;
  // An iteration still under way is in no window's numbers yet: the main thread's view tells.
  const stuck = t.stuckMs >= DELAY_MAX_MS;
  // Parked, not computing: last seen blocked in the kernel inside that iteration, and (where
  // the kernel says) with less CPU time since it started than half the iteration.
  const parked = stuck && t.stuckWaiting && (t.stuckCpuMs === null || t.stuckCpuMs < t.stuckMs / 2);
  const cpu = t.stuckCpuMs !== null ? ` It used ${ms(t.stuckCpuMs)} of CPU since it started.` : '';
  const parkedIn = `blocked in the kernel${t.stuckSyscall !== null ? ` (${t.stuckSyscall})` : ''}: a worker parked in Atomics.wait (as piscina's idle workers are) or waiting on a lock.${cpu} Its loop ran nothing meanwhile; libuv counts the time as busy.`;
  if (stuck) {
    out.push(
      t.stuckEnded && parked
        ? { level: 'info', title: 'Ended while parked in one iteration', text: `The thread ended ${ms(t.stuckMs)} into one iteration, last seen ${parkedIn} That iteration is in no window.`, chart: `${key}-util` }
        : t.stuckEnded
        ? { level: 'problem', title: 'Ended inside a long iteration', text: `The thread ended ${ms(t.stuckMs)} into one iteration (terminated or exited while a callback ran): that iteration is in no window.${cpu}`, chart: `${key}-util` }
        : t.stuckWaiting
        ? { level: 'info', title: 'Waiting inside one iteration at the end', text: `Last seen ${ms(t.stuckMs)} into one iteration, ${parkedIn}`, chart: `${key}-util` }
        : { level: 'problem', title: 'Running inside one iteration at the end', text: `Last seen ${ms(t.stuckMs)} into one iteration, running: a long synchronous callback. Its loop ran nothing meanwhile.`, chart: `${key}-util` },
    );
  }
  const blocked = maxBusy >= DELAY_MAX_MS || p99Median >= DELAY_P99_MS;
  const slowNote = t.slowSeen > 0 ? `; ${t.slowSeen} slow iteration${t.slowSeen === 1 ? '' : 's'} ${t.fromTimeline ? 'recorded' : 'in the saved run (its 5 slowest per window)'}` : '';
  if ((blocked && !parked) || !stuck) out.push(
    blocked
      ? { level: 'problem', title: 'The event loop was blocked', text: `Longest iteration ${ms(maxBusy)} busy (window ending at ${sec(worst.end).toFixed(1)} s), median per-window p99 ${ms(p99Median)}${slowNote}. Nothing else on this thread ran meanwhile: timers, I/O and requests waited.`, chart: `${key}-slow` }
      : { level: 'ok', title: 'No long blocking', text: `Longest iteration ${ms(maxBusy)} busy, median per-window p99 ${ms(p99Median)} (a problem from ${DELAY_MAX_MS} ms max or ${DELAY_P99_MS} ms p99)${slowNote}.`, chart: `${key}-p99` },
  );
  if (busyTotal > 0) {
    out.push({ level: blocked && !parked ? 'problem' : 'info', title: `Busy time went to ${topPhase}`, text: `${pct(topMs / busyTotal)} of the loop's busy time (${ms(topMs)} of ${ms(busyTotal)}) was in ${topPhase}: ${PHASE_MEANING[topPhase]}.`, chart: `${key}-phases` });
  }
  const utils = buckets.map((b) => (b.windowMs > 0 ? b.activeMs / b.windowMs : 0));
  const utilMedian = median(utils);
  out.push(
    utilMedian >= SATURATED_UTILIZATION && (parked || (stuck && t.stuckWaiting))
      ? { level: 'info', title: `Utilization ${pct(utilMedian)} median`, text: `Median utilization ${pct(utilMedian)}: the time parked inside its iteration counts as busy; it was waiting, not running.`, chart: `${key}-util` }
      : utilMedian >= SATURATED_UTILIZATION
      ? { level: 'problem', title: 'The loop had no headroom', text: `Median utilization ${pct(utilMedian)}: the loop was busy nearly all the time; more load will queue.`, chart: `${key}-util` }
      : { level: 'info', title: `Utilization ${pct(utilMedian)} median`, text: `Median utilization ${pct(utilMedian)}, peak ${pct(Math.max(...utils))} (a problem from a ${pct(SATURATED_UTILIZATION)} median).`, chart: `${key}-util` },
  );

  if (t.stallsSeen > 0) {
    const frames = new Map<string, { count: number; blocked: number }>();
    for (const s of [...t.stalls, ...t.stallsOpen.values()]) {
      const top = s.where;
      if (top === null) continue;
      const f = frames.get(top) ?? { count: 0, blocked: 0 };
      f.count++;
      f.blocked = Math.max(f.blocked, s.blockedMs ?? 0);
      frames.set(top, f);
    }
    const top = [...frames].sort((a, b) => b[1].blocked - a[1].blocked).slice(0, 3);
    out.push({ level: parked && top.length === 0 ? 'info' : 'problem', title: `${t.stallsSeen} stall${t.stallsSeen === 1 ? '' : 's'} captured`, text: top.length > 0 ? `Top frames: ${top.map(([f, v]) => `${f} (${v.count}×, longest ${ms(v.blocked)})`).join('; ')}.` : 'No stack was captured for them.', chart: `${key}-slow` });
  }

  if (t.threadId === 0) {
    if (!t.poolUsed) {
      out.push({ level: 'info', title: 'Thread pool not used', text: 'No fs, dns.lookup, crypto or zlib work went to the libuv thread pool.', chart: `${key}-pool` });
    } else {
      const size = t.poolSize ?? 0;
      // The summary's rules (model.ts): saturated = no free thread; a wait for a CPU is not saturation.
      const saturated = buckets.reduce((n, b) => n + b.saturated, 0);
      const starved = buckets.reduce((n, b) => n + b.cpuWaited, 0);
      const windows = (n: number) => `${n} window${n === 1 ? '' : 's'}`;
      if (saturated > 0) {
        const peakBusy = Math.max(0, ...buckets.map((b) => b.poolBusy ?? 0));
        const peakQueued = Math.max(0, ...buckets.map((b) => b.poolQueued ?? 0));
        const wait = Math.max(0, ...buckets.map((b) => b.queueWait ?? 0));
        out.push({ level: 'problem', title: 'Thread pool saturated', text: `In ${windows(saturated)} the pool had no free thread (busy up to ${peakBusy} of ${size}, up to ${peakQueued} task${peakQueued === 1 ? '' : 's'} queued; longest queue wait in the run ${ms(wait)}): fs, dns.lookup, crypto and zlib work queued behind it. Limit concurrent pool work, or raise UV_THREADPOOL_SIZE if the CPUs have room.`, chart: `${key}-pool` });
      } else {
        out.push({ level: 'ok', title: 'Thread pool not saturated', text: `The pool (${size} threads) always had a free thread.`, chart: `${key}-pool` });
      }
      if (starved > 0) {
        out.push({ level: 'info', title: 'Pool work waited for a CPU', text: `In ${windows(starved)} pool work waited for a CPU while threads were free: the machine was busy; more pool threads would not help.`, chart: `${key}-pool` });
      }
    }
  }
  return out;
}

/** JSON for a `<script type="application/json">`: nothing in it can end the element or be read as markup. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

let uplotCache: { js: string; css: string } | null = null;
function uplot(): { js: string; css: string } {
  if (uplotCache !== null) return uplotCache;
  const dir = path.dirname(require.resolve('uplot/package.json'));
  const js = fs.readFileSync(path.join(dir, 'dist', 'uPlot.iife.min.js'), 'utf8');
  const css = fs.readFileSync(path.join(dir, 'dist', 'uPlot.min.css'), 'utf8');
  uplotCache = { js, css };
  return uplotCache;
}

/** The page: uPlot, the client script and the style inline, allowed by hash; the data as inert JSON. */
export function renderHtml(data: ReportData): string {
  const { js, css } = uplot();
  const style = `${css}\n${STYLE}`;
  for (const [name, text] of [['uPlot', js], ['the report script', CLIENT_SOURCE]] as const) {
    // An inline script cannot contain its own end tag; the style neither.
    if (/<\/script/i.test(text)) throw new Error(`${name} contains "</script"; it cannot be inlined`);
  }
  if (/<\/style/i.test(style)) throw new Error('the style contains "</style"');
  const csp = [`default-src 'none'`, `script-src ${sha256(js)} ${sha256(CLIENT_SOURCE)}`, `style-src ${sha256(style)}`, `img-src data:`, `base-uri 'none'`, `form-action 'none'`].join('; ');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>uvscope report</title>',
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    '<main id="app"><p>This report needs JavaScript to draw its charts.</p></main>',
    `<script type="application/json" id="uvscope-data">${embedJson(data)}</script>`,
    `<script>${js}</script>`,
    `<script>${CLIENT_SOURCE}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Writes the report for what `builder` collected; returns its size in bytes. */
export function writeReport(file: string, builder: ReportBuilder): number {
  const html = renderHtml(builder.data());
  fs.writeFileSync(file, html);
  return Buffer.byteLength(html);
}

/** `uvscope report <run.jsonl> -o <out.html>`: a report from a saved `--json --out` run. */
export function reportFromFile(input: string, output: string): { bytes: number; lines: number } {
  let text: string;
  try {
    text = fs.readFileSync(input, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${JSON.stringify(input)}: ${(error as Error).message}`);
  }
  const builder = new ReportBuilder();
  for (const raw of text.split('\n')) {
    // Lines may share stderr with the program's own output: keep uvscope's.
    const start = raw.indexOf('{"uvscope":1');
    if (start === -1) continue;
    try {
      builder.add(JSON.parse(raw.slice(start)));
    } catch {
      // a line cut short (the run was killed): skip it
    }
  }
  if (builder.lines === 0) throw new Error(`${JSON.stringify(input)} holds no uvscope JSON lines (save a run with \`uvscope --json --out run.jsonl -- ...\`)`);
  let bytes: number;
  try {
    bytes = writeReport(output, builder);
  } catch (error) {
    throw new Error(`cannot write ${JSON.stringify(output)}: ${(error as Error).message}`);
  }
  return { bytes, lines: builder.lines };
}
