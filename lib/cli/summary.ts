// The summary printed when the program ends: a pure function of what the CLI collected.
import { commandLine, count, fit, ms, paint, percent, seconds } from './format.js';
import type { ThreadActivity, ThreadKernelState } from '../types.js';
import { LONG_ITERATION_MS, type Run, type RunStats, type SaturationPeriod, type SlowIteration, type ThreadState, wholeRun } from './model.js';
import { applicationThread, programLine, threadLabel } from './labels.js';
import type { AliveLine, WindowLine } from './protocol.js';
import { aliveParts, aliveText, keepAliveText } from './render.js';
import { endOpenStall, type StallGroup, stallGroups, stallOf, stallSummaryLines } from './stalls.js';
import type { StallLine } from './protocol.js';

/** How the program ended, as the CLI saw it. */
export interface Outcome {
  /** Wall clock when the program ended. */
  endTime: number;
  /** The exit code the CLI exits with (128 + n for a death by signal n). */
  exitCode: number;
  /** The signal that ended the program, if one did. */
  signal: string | null;
}

export interface SummaryOptions {
  command: readonly string[];
  width: number;
  color: boolean;
  /** --stall-ms; 0: stall capture was off (the heading says so instead of "none"). */
  stallMs?: number;
}

/** The summary as data: the `summary` line of the JSON output. */
export interface SummaryData {
  uvscope: 1;
  type: 'summary';
  command: string[];
  durationMs: number;
  exitCode: number;
  signal: string | null;
  threads: {
    pid: number;
    threadId: number;
    argv: string[];
    /** Node's own flags of the thread's process (`process.execArgv`). */
    execArgv: string[];
    iterations: number;
    utilization: number;
    busyP99Ms: number | null;
    busyMaxMs: number;
    phasesMs: { poll: number; check: number; timers: number };
    events: number | null;
    worstWindows: { time: number; windowMs: number; utilization: number; busyMaxMs: number }[];
    /** Each with the stall captured in that iteration (`stall` line), or null. */
    slowest: (SlowIteration & { stall: StallLine | null })[];
    /** Stalls grouped by the first user frame, most frequent first. */
    stalls: StallGroup[];
    poolSaturation: Omit<SaturationPeriod, 'open'>[];
    /** Windows in which the pool's work waited for a CPU while its threads were free. */
    poolCpuWait: Omit<SaturationPeriod, 'open'>[];
    /**
     * What the main thread last saw this worker doing (`threads()`), with `time` (wall
     * clock) and `atExit` (seen from the main thread's exit); null for main threads and
     * workers never seen.
     */
    activity: (ThreadActivity & { time: number; atExit: boolean }) | null;
    /** The worker ended inside, or at the end of, an iteration at least 50 ms busy. */
    endedWhileBusy: boolean;
    /** `whyAlive()` in the last window in which anything kept the loop alive (null if not sent). */
    aliveAtEnd: AliveLine | null;
    /** Node's resource names in that window. */
    keepAliveAtEnd: Record<string, number> | null;
    handlesAtEnd: Record<string, number> | null;
    exitCode: number | null;
    error: string | null;
  }[];
}

function utilization(t: ThreadState): number {
  const total = wholeRun(t);
  if (total !== null) return total.utilization;
  return t.totals.windowMs > 0 ? t.totals.activeMs / t.totals.windowMs : 0;
}

/** Whole-run numbers, from the thread's own lines or the main thread's view of it. */
function runNumbers(t: ThreadState) {
  const total: RunStats | null = wholeRun(t);
  return {
    total,
    iterations: total?.iterations ?? t.totals.iterations,
    activeMs: total?.activeMs ?? t.totals.activeMs,
    busyMaxMs: Math.max(t.totals.busyMaxMs, total?.busy.maxMs ?? 0),
    poll: total?.phases.poll.totalMs ?? t.totals.pollMs,
    check: total?.phases.check.totalMs ?? t.totals.checkMs,
    timers: total?.phases.timers.totalMs ?? t.totals.timersMs,
    busyMs: total?.busy.totalMs ?? t.totals.busyMs,
    events: total?.events ?? t.totals.events,
  };
}

/**
 * Active time for ranking threads: a worker last seen blocked (an idle piscina worker
 * parked in Atomics.wait) is "active" to libuv for the whole wait, but did no work then.
 */
function workMs(t: ThreadState): number {
  const a = t.observedAlive?.activity;
  const blocked = a !== undefined && a.state === 'blocked' ? a.elapsedMs : 0;
  return Math.max(0, runNumbers(t).activeMs - blocked);
}

function endedWhileBusy(t: ThreadState): boolean {
  const a = t.observed?.activity;
  return a !== undefined && a.state === 'ended' && a.busyMs >= LONG_ITERATION_MS;
}

/** The kernel's wait, in words: `futex` is how `Atomics.wait` and a contended lock block. */
function blockedIn(syscall: string | null | undefined): string {
  if (syscall === 'futex') return 'futex (Atomics.wait or a lock)';
  return syscall ? `${syscall}()` : 'the kernel';
}

/** `; 2.1s on a CPU since it started`: beside a long iteration, computing or waiting. */
function cpuText(kernel: ThreadKernelState | null | undefined): string {
  return kernel?.cpuMs != null ? `; ${ms(kernel.cpuMs)} on a CPU since it started` : '';
}

/**
 * What the main thread last saw a worker doing, when the loop's numbers alone would
 * mislead: ended inside or at the end of a long iteration, or at its last sighting inside
 * one for a long time, running JavaScript or blocked (which utilization counts as busy).
 */
export function activityNote(t: ThreadState, startTime: number): string | null {
  const seen = t.observed;
  if (seen === null) return null;
  const a = seen.activity;
  if (a.state === 'ended') {
    if (a.busyMs < LONG_ITERATION_MS) return null;
    // The iteration it ended in counts Atomics.wait as busy, as utilization does (a piscina
    // worker runs its tasks and parks inside one iteration): what it was last seen doing
    // tells which it was.
    const before = t.observedAlive?.activity;
    return before?.state === 'blocked'
      ? `ended in a ${ms(a.busyMs)} iteration, blocked in ${blockedIn(before.kernel?.syscall)}${cpuText(before.kernel)}`
      : `ended while busy: last iteration ${ms(a.busyMs)}, never back in its loop${cpuText(before?.kernel)}`;
  }
  if (a.elapsedMs < LONG_ITERATION_MS) return null;
  const when = seen.final ? 'at exit' : `at +${seconds(seen.time - startTime)}`;
  if (a.state === 'blocked') return `${when} blocked ${ms(a.elapsedMs)} in ${blockedIn(a.kernel?.syscall)}, not running${cpuText(a.kernel)}`;
  if (a.state === 'running') return `${when} running JavaScript ${ms(a.elapsedMs)}, not back in its loop${cpuText(a.kernel)}`;
  if (a.state === 'busy') return `${when} inside one iteration ${ms(a.elapsedMs)} (running or blocked)`;
  return null;
}

function periodLines(periods: SaturationPeriod[], at: (time: number) => string, cpu: boolean): string[] {
  return periods.map((s) => {
    const busy = s.peakBusy === null ? '' : ` · busy ${s.peakBusy}/${s.size}`;
    const queued = s.peakQueued === null ? '' : ` · queued up to ${s.peakQueued}`;
    const cpuWait = cpu && s.maxCpuWaitMs !== null ? ` (${ms(s.maxCpuWaitMs)} of it waiting for a CPU)` : '';
    return `    ${at(s.fromTime)} to ${at(s.toTime)} (${seconds(s.toTime - s.fromTime)})${busy}${queued} · wait max ${ms(s.maxWaitMs)}${cpuWait}`;
  });
}

/** Whether anything kept the loop alive in `w`: what the alive row names, else Node's names and the counts. */
function keepsAlive(w: WindowLine): boolean {
  const parts = aliveParts(w);
  if (parts !== null) return parts.length > 0;
  return Object.keys(w.keepAlive).length > 0 || w.stats.handles.referenced > 0;
}

/** The last window that still saw work keeping the loop alive (the final one sees the loop drained). */
function lastAlive(t: ThreadState): WindowLine | null {
  for (let i = t.history.length - 1; i >= 0; i--) {
    if (keepsAlive(t.history[i]!)) return t.history[i]!;
  }
  return t.history[t.history.length - 1] ?? null;
}

/**
 * A stall whose iteration the thread never left (a worker ended inside it, or was inside it
 * when last seen): its length is the busy time of that iteration in the last view of it.
 */
function settleOpenStall(t: ThreadState): void {
  const alive = t.observedAlive?.activity;
  const last = t.observed?.activity;
  if (alive?.iteration == null) {
    // Never seen alive inside it (terminated between two looks): an ended thread's newest
    // stall, still open, is the iteration it ended in.
    const newest = t.stalls.lines[t.stalls.lines.length - 1];
    if (last?.state === 'ended' && newest !== undefined && newest.busyMs === null) endOpenStall(t.stalls, newest.iteration, last.busyMs);
    return;
  }
  const busy = last?.state === 'ended' || last?.iteration === alive.iteration ? last.busyMs : alive.busyMs;
  endOpenStall(t.stalls, alive.iteration, Math.max(busy, alive.busyMs));
}

export function summaryData(run: Run, outcome: Outcome, command: readonly string[]): SummaryData {
  for (const t of run.threads.values()) settleOpenStall(t);
  return {
    uvscope: 1,
    type: 'summary',
    command: [...command],
    durationMs: outcome.endTime - run.startTime,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    threads: [...run.threads.values()].map((t) => {
      const alive = lastAlive(t);
      const n = runNumbers(t);
      const seen = t.observed;
      return {
        pid: t.pid,
        threadId: t.threadId,
        argv: t.argv,
        execArgv: t.execArgv,
        iterations: n.iterations,
        utilization: utilization(t),
        busyP99Ms: n.total?.busy.p99Ms ?? null,
        busyMaxMs: n.busyMaxMs,
        phasesMs: { poll: n.poll, check: n.check, timers: n.timers },
        events: n.events,
        worstWindows: t.worstWindows.map((w) => ({
          time: w.time, windowMs: w.stats.windowMs, utilization: w.stats.utilization, busyMaxMs: w.stats.busy.maxMs,
        })),
        slowest: t.slowest.map((it) => ({ ...it, stall: stallOf(t.stalls, it.index) })),
        stalls: stallGroups(t.stalls),
        poolSaturation: t.saturation.map(({ open: _open, ...period }) => period),
        poolCpuWait: t.cpuWait.map(({ open: _open, ...period }) => period),
        activity: seen === null ? null : { ...seen.activity, time: seen.time, atExit: seen.final },
        endedWhileBusy: endedWhileBusy(t),
        aliveAtEnd: alive?.alive ?? null,
        keepAliveAtEnd: alive?.keepAlive ?? null,
        handlesAtEnd: alive?.stats.handles.byType ?? null,
        exitCode: t.exitCode,
        error: t.error,
      };
    }),
  };
}

/** The summary as text, each line at most `width` columns. */
export function renderSummary(run: Run, outcome: Outcome, options: SummaryOptions): string[] {
  const p = paint(options.color);
  const at = (time: number) => `+${seconds(time - run.startTime)}`;
  const lines: string[] = [];
  const ended = outcome.signal !== null ? `killed by ${outcome.signal} (exit ${outcome.exitCode})` : `exit code ${outcome.exitCode}`;
  lines.push(p.bold(`uvscope summary · ${commandLine(options.command)}`));
  lines.push(`ran ${seconds(outcome.endTime - run.startTime)} · ${ended} · ${run.threads.size} thread(s) observed`);

  for (const t of run.threads.values()) settleOpenStall(t);
  const threads = [...run.threads.values()].sort((a, b) => workMs(b) - workMs(a));
  if (threads.length === 0) {
    lines.push('no Node.js process reported: was the command a Node program (or one that starts Node)?');
    return lines.map((l) => fit(l, options.width));
  }
  const first = applicationThread(threads, workMs)!;
  const [main, ...rest] = [first, ...threads.filter((t) => t !== first)];
  const detailed = [main!, ...rest.filter((t) => runNumbers(t).busyMaxMs >= 10 || t.saturation.length > 0)].slice(0, 3);
  for (const t of detailed) {
    lines.push('');
    lines.push(p.bold(`${threadLabel(t)}: ${programLine(t)}`));
    if (t.error !== null) lines.push(`  uvscope could not start here: ${t.error}`);
    if (t.totals.windows === 0 && t.observed === null) {
      lines.push('  no window reported');
      continue;
    }
    const n = runNumbers(t);
    const total = n.total;
    const iterations = n.iterations;
    const busyMax = n.busyMaxMs;
    lines.push(
      `  loop     ${count(iterations)} iterations · util ${percent(utilization(t))} · busy ` +
        (total ? `p50 ${ms(total.busy.p50Ms)} p99 ${ms(total.busy.p99Ms)} ` : '') +
        `max ${ms(busyMax)}`,
    );
    const note = activityNote(t, run.startTime);
    if (note !== null) lines.push(`  thread   ${note}`);
    const { poll, check, timers } = n;
    const busy = Math.max(poll + check + timers, n.busyMs);
    const share = (v: number) => (busy > 0 ? ` (${percent(v / busy)})` : '');
    lines.push(`  phases   poll ${ms(poll)}${share(poll)} · check ${ms(check)}${share(check)} · timers ${ms(timers)}${share(timers)}`);
    const events = n.events;
    if (events !== null) lines.push(`  events   ${count(events)} I/O events`);

    lines.push(p.bold('  worst windows') + p.dim('  (most active time)'));
    const worst = t.worstWindows.filter((w) => w.stats.utilization >= 0.05 || w.stats.busy.maxMs >= 10).slice(0, 3);
    if (worst.length === 0) lines.push('    none: the loop was never more than 5% busy');
    for (const w of worst) {
      const s = w.stats;
      const phases = [['poll', s.phases.poll.totalMs], ['check', s.phases.check.totalMs], ['timers', s.phases.timers.totalMs]] as const;
      const top = phases.reduce((a, b) => (b[1] > a[1] ? b : a));
      lines.push(
        `    ${at(w.time - s.windowMs).padStart(8)}  util ${percent(s.utilization).padStart(4)} · ${s.busy.count > 0 ? `slowest ${ms(s.busy.maxMs)}` : 'no iteration ended in it'}` +
          (top[1] > 0 ? ` · mostly ${top[0]} (${ms(top[1])})` : ''),
      );
    }

    lines.push(p.bold('  slowest iterations') + p.dim('  (busy = poll + check + timers + other)'));
    if (t.slowest.length === 0) lines.push('    none over the --slow-ms threshold');
    for (const it of t.slowest) {
      const other = Math.max(0, it.busyMs - it.pollMs - it.checkMs - it.timersMs);
      lines.push(
        `    ${at(it.time).padStart(8)}  ${ms(it.busyMs).padStart(7)} = poll ${it.pollMs.toFixed(1)} + check ${it.checkMs.toFixed(1)} ` +
          `+ timers ${it.timersMs.toFixed(1)} + other ${other.toFixed(1)}`,
      );
    }

    lines.push(p.bold('  stalls') + p.dim('  (what blocked the loop, by its first frame in your code)'));
    lines.push(...(options.stallMs === 0 ? ['    off (--stall-ms 0)'] : stallSummaryLines(t.stalls, ms)));

    if (t.threadId === 0) {
      lines.push(p.bold('  thread pool saturated'));
      if (t.saturation.length === 0) lines.push(`    never (no window with all threads busy, work queued, or a wait >= 10ms for a thread)`);
      lines.push(...periodLines(t.saturation, at, false));
      if (t.cpuWait.length > 0) {
        lines.push(p.bold('  thread pool waited for CPU') + p.dim('  (threads free, no CPU to run them: not saturation)'));
        lines.push(...periodLines(t.cpuWait, at, true));
      }
    }

    const alive = lastAlive(t);
    if (alive !== null) {
      const parts = aliveParts(alive);
      if (parts === null || parts.length === 0) {
        lines.push(`${p.bold('  alive near the end')} ${aliveText(alive)}`);
      } else {
        lines.push(p.bold('  alive near the end'));
        for (const part of parts) lines.push(`    ${part}`);
        lines.push(`    Node: ${keepAliveText(alive.keepAlive)}`);
      }
      const types = Object.entries(alive.stats.handles.byType).map(([k, n]) => `${k} ${n}`).join(' ');
      if (types !== '') lines.push(`    handles: ${types}`);
    }
  }
  const quiet = threads.filter((t) => !detailed.includes(t));
  if (quiet.length > 0) {
    lines.push('');
    lines.push(p.bold('also observed'));
    for (const t of quiet.slice(0, 8)) {
      const name = threadLabel(t);
      const n = runNumbers(t);
      const note = activityNote(t, run.startTime);
      lines.push(`  ${name}: ${count(n.iterations)} iterations, util ${percent(utilization(t))}, ${n.iterations > 0 ? `slowest ${ms(n.busyMaxMs)}` : 'no iteration ended'} · ${programLine(t)}`);
      if (note !== null) lines.push(`    ${note}`);
    }
    if (quiet.length > 8) lines.push(`  … and ${quiet.length - 8} more`);
  }
  return lines.map((l) => fit(l, options.width));
}
