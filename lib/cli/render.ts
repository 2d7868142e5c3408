// The live view: a pure function from what the CLI knows to the lines of the panel, so it
// can be tested with constructed windows and drawn by whatever owns the terminal.
import { plural } from '../handles.js';
import type { Distribution } from '../types.js';
import { commandLine, count, fit, ms, type Paint, paint, percent, seconds, sparkline } from './format.js';
import { LONG_ITERATION_MS, type Run, type ThreadState, latestWindow } from './model.js';
import { threadLabel } from './labels.js';
import type { WindowLine } from './protocol.js';
import { ongoingStallText } from './stalls.js';

export interface LiveOptions {
  /** Terminal columns; lines never exceed it. */
  width: number;
  /** Wall clock now. */
  now: number;
  /** The command the CLI runs. */
  command: readonly string[];
  color: boolean;
}

const TREND = 16;
/** Most lines the panel has. */
export const LIVE_ROWS = 12;
const LABEL = 8;

function label(p: Paint, text: string): string {
  return p.bold(text.padEnd(LABEL));
}

function rate(value: number, windowMs: number): number {
  return windowMs > 0 ? (value * 1000) / windowMs : 0;
}

/** Keep-alive names counted: `TCPServerWrap 1, Timeout 3`, most numerous first. */
export function keepAliveText(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? 'nothing' : entries.map(([name, n]) => `${name} ${n}`).join(', ');
}

/**
 * What keeps the loop alive, from the window's `whyAlive()` names (`tcp server
 * 127.0.0.1:8080, timer every 100 ms x3, 2 requests`), or Node's resource names when the
 * reporter sent none. Ref'd JavaScript timers and immediates are added from Node's names:
 * Node runs them all on one libuv handle, which is stopped while the reporter itself runs
 * in a timer callback.
 */
export function aliveText(w: Pick<WindowLine, 'alive' | 'keepAlive'>): string {
  const parts = aliveParts(w);
  return parts === null ? keepAliveText(w.keepAlive) : parts.length === 0 ? 'nothing' : parts.join(', ');
}

/** The items of `aliveText`, or null when the reporter sent no names. */
export function aliveParts(w: Pick<WindowLine, 'alive' | 'keepAlive'>): string[] | null {
  const a = w.alive;
  if (a === null || a === undefined) return null;
  const parts = a.named.map(({ name, count }) => (count === 1 ? name : `${name} x${count}`));
  const shown = a.named.reduce((n, x) => n + x.count, 0);
  if (shown < a.handles) parts.push(`${a.handles - shown} more`);
  if (a.activeRequests > 0) parts.push(plural(a.activeRequests, 'request'));
  const timers = w.keepAlive['Timeout'] ?? 0;
  const immediates = w.keepAlive['Immediate'] ?? 0;
  if (timers > 0) parts.push(plural(timers, 'JS timer'));
  if (immediates > 0) parts.push(plural(immediates, 'immediate'));
  return parts;
}

function byTypeText(byType: Record<string, number>): string {
  return Object.entries(byType)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${name} ${n}`)
    .join(' ');
}

function phaseRow(p: Paint, name: string, history: WindowLine[], pick: (w: WindowLine) => Distribution): string {
  const last = history[history.length - 1]!;
  const d = pick(last);
  const perSecond = rate(d.totalMs, last.stats.windowMs);
  const trend = sparkline(history.map((w) => rate(pick(w).totalMs, w.stats.windowMs)), TREND, 1000);
  const share = `${perSecond.toFixed(1).padStart(6)}ms/s`;
  const p99 = ms(d.p99Ms).padStart(8);
  const max = ms(d.maxMs).padStart(8);
  const hot = d.maxMs >= 50 ? p.red : d.maxMs >= 10 ? p.yellow : (s: string) => s;
  return `  ${name.padEnd(LABEL - 2)}${share} ${p99} ${hot(max)}  ${trend}`;
}

function threadName(t: ThreadState): string {
  return threadLabel(t);
}

/** ` blocked 12.3s` / ` running 2.10s` for a worker the main thread sees inside one long iteration. */
function activityWord(t: ThreadState): string {
  const a = t.observed?.activity;
  if (a === undefined || a.elapsedMs < LONG_ITERATION_MS || (a.state !== 'blocked' && a.state !== 'running')) return '';
  return ` ${a.state} ${ms(a.elapsedMs)}`;
}

/** The panel's lines, each at most `width` columns. */
export function renderLive(run: Run, options: LiveOptions): string[] {
  const p = paint(options.color);
  const width = Math.max(20, options.width);
  const focus = run.focus();
  const elapsed = seconds(options.now - run.startTime);
  const lines: string[] = [];
  const title = ` uvscope · ${commandLine(options.command)} `;
  const right = ` ${focus ? threadName(focus) + ' · ' : ''}${elapsed} `;
  const fill = Math.max(1, width - [...title].length - [...right].length);
  lines.push(p.inverse(fit(title, width - [...right].length - 1) + '─'.repeat(fill) + right));

  const history = focus?.history ?? [];
  const last = history[history.length - 1];
  if (focus === undefined || last === undefined) {
    const waiting = [...run.threads.values()].find((t) => t.error !== null);
    for (const t of run.threads.values()) {
      const stalled = ongoingStallText(t.stalls, options.now, ms);
      if (stalled !== null) lines.push(`${label(p, 'blocked')}${p.red(stalled)}`);
    }
    lines.push(waiting ? `${label(p, 'error')}${threadName(waiting)}: ${waiting.error}` : `${label(p, 'waiting')}for the first window from the program…`);
    return lines.map((line) => fit(line, width));
  }
  const s = last.stats;
  const util = s.utilization;
  const utilText = util >= 0.9 ? p.red(percent(util).padStart(4)) : util >= 0.6 ? p.yellow(percent(util).padStart(4)) : percent(util).padStart(4);
  const events = s.events === null ? '' : `  events ${count(rate(s.events, s.windowMs))}/s`;
  lines.push(
    `${label(p, 'loop')}util ${utilText} ${sparkline(history.map((w) => w.stats.utilization), TREND, 1)}  ` +
      `${count(rate(s.iterations, s.windowMs))} iter/s${events}`,
  );
  // A frozen loop writes no windows: its stall line says what it is stuck in, live.
  const stalled = ongoingStallText(focus.stalls, options.now, ms);
  if (stalled !== null) lines.push(`${label(p, 'blocked')}${p.red(stalled)}`);
  const busyMax = ms(s.busy.maxMs);
  lines.push(
    `${label(p, 'busy')}p50 ${ms(s.busy.p50Ms)}  p99 ${ms(s.busy.p99Ms)}  max ` +
      `${s.busy.maxMs >= 50 ? p.red(busyMax) : busyMax}  ${sparkline(history.map((w) => w.stats.busy.maxMs), TREND)}  per iteration`,
  );
  lines.push(p.dim(`${'phase'.padEnd(LABEL)}${'busy'.padStart(12)} ${'p99'.padStart(8)} ${'max'.padStart(8)}  trend (ms/s)`));
  lines.push(phaseRow(p, 'poll', history, (w) => w.stats.phases.poll));
  lines.push(phaseRow(p, 'check', history, (w) => w.stats.phases.check));
  lines.push(phaseRow(p, 'timers', history, (w) => w.stats.phases.timers));

  const slow = last.slowest[0];
  if (slow !== undefined) {
    const other = Math.max(0, slow.busyMs - slow.pollMs - slow.checkMs - slow.timersMs);
    lines.push(
      `${label(p, 'slowest')}${ms(slow.busyMs)} at +${seconds(slow.time - run.startTime)}: poll ${slow.pollMs.toFixed(1)} ` +
        `check ${slow.checkMs.toFixed(1)} timers ${slow.timersMs.toFixed(1)} other ${other.toFixed(1)}` +
        (slow.events === null ? '' : ` · ${slow.events} ev`),
    );
  } else {
    lines.push(`${label(p, 'slowest')}${ms(s.busy.maxMs)} busy (none over the --slow-ms threshold)`);
  }

  const pool = s.threadpool;
  const wait = pool.queueWait;
  const busy = pool.busy === null ? '-' : String(pool.busy);
  const queued = pool.queued === null ? '-' : String(pool.queued);
  const full = (pool.busy !== null && pool.busy >= pool.size) || (pool.queued ?? 0) > 0;
  lines.push(
    `${label(p, 'pool')}${(full ? p.red : (x: string) => x)(`${busy}/${pool.size} busy`)}  ${queued} queued  ` +
      `wait p99 ${wait.count > 0 ? ms(wait.p99Ms) : '-'} max ${wait.count > 0 ? ms(wait.maxMs) : '-'}  ` +
      sparkline(history.map((w) => (w.stats.threadpool.queueWait.count > 0 ? w.stats.threadpool.queueWait.maxMs : 0)), TREND),
  );

  const h = s.handles;
  lines.push(`${label(p, 'handles')}${h.total} open, ${h.referenced} ref'd${h.total > 0 ? ': ' + byTypeText(h.byType) : ''}`);
  lines.push(`${label(p, 'alive')}${aliveText(last)}`);

  const others = [...run.threads.values()].filter((t) => t !== focus && !t.ended && latestWindow(t) !== null);
  if (others.length > 0) {
    const parts = others.map((t) => {
      const w = latestWindow(t)!;
      return `${threadName(t)} ${percent(w.utilization)} max ${ms(w.busy.maxMs)}${activityWord(t)}`;
    });
    lines.push(`${label(p, 'also')}${parts.join(' · ')}`);
  }
  return lines.map((line) => fit(line, width));
}
