// The reporter: runs inside the observed program (every process and worker thread), started
// by `uvscope/register` only when the CLI's channel variable is set. Once per interval it
// takes one `loopStats(previous)` window and appends it as a JSON line to its own file; the
// slow iterations come from `iterations()`, filtered natively and read with `readNow()`
// once per window, so nothing here runs per loop iteration. Everything it starts is
// unref'd: it never keeps the program alive. Any failure stops reporting and never
// reaches the program.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';

import { describeHandle, endpointText, originText } from '../handles.js';
import type { AliveReport, HandleInfo, HandleSummary, IterationRecord, LoopStats, ThreadStats } from '../types.js';
import {
  ALIVE_DETAIL_MAX,
  ALIVE_NAMES,
  type AliveLine,
  type ChannelLine,
  ENV_DIR,
  ENV_INTERVAL,
  ENV_PID,
  ENV_SLOW,
  ENV_HANDLE_STACKS,
  ENV_TIMELINE,
  INTERVAL_DEFAULT_MS,
  INTERVAL_MAX_MS,
  INTERVAL_MIN_MS,
  keepSlowest,
  SLOW_DEFAULT_MS,
  SLOW_MAX_MS,
  SLOWEST_PER_WINDOW,
  TIMELINE_MAX_PER_WINDOW,
  type ObservedStats,
  type ThreadLine,
  type TimelineLine,
  type WindowLine,
} from './protocol.js';
import { isCaptureWorker } from '../stall-frames.js';
import { startStallCapture } from './stalls.js';

type Api = typeof import('../index.js');
type Slow = IterationRecord & { time: number };

const started = Symbol.for('uvscope.cli.reporter');
/**
 * With `--trace-all`, how often the ring (4096 iterations) is read: 20 ms keeps up with
 * 200k iterations/s. The timer's own wake-ups (50/s) are iterations in the trace too.
 */
const DRAIN_MS = 20;

/** Numbers are rounded to 0.1 µs (ms with 4 decimals): plenty, and lines stay short. */
function round(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1e4) / 1e4 : value;
}

function envNumber(value: string | undefined, fallback: number, min: number, max: number): number {
  const n = value === undefined || value === '' ? NaN : Number(value);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

/** `process.getActiveResourcesInfo()` counted by name: what keeps this loop alive now. */
function keepAlive(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/**
 * A handle's name for counting: connections lose their ephemeral side, so a server's
 * clients count as one entry (`tcp 127.0.0.1:8080 <- client x40`) and so do a pool's
 * connections to one backend (`tcp -> 10.0.0.5:5432 x10`).
 */
function countedName(h: HandleInfo, servers: ReadonlySet<string>): string {
  if (h.type !== 'tcp' || h.listening || h.remote === null) return describeHandle(h) + originText(h);
  const local = endpointText(h.local);
  return (servers.has(local) ? `tcp ${local} <- client` : `tcp -> ${endpointText(h.remote)}`) + originText(h);
}

/**
 * A `whyAlive()` report with equal names counted. A server's side of its connections is
 * told by the local endpoint: one this process listens on, or one that two or more
 * connections share (a node:cluster worker's accepted connections, whose listening socket
 * lives in the primary; outgoing connections each have their own ephemeral local port).
 */
export function aliveLine(report: AliveReport): AliveLine {
  const servers = new Set<string>();
  const locals = new Map<string, number>();
  for (const h of report.handles) {
    if (h.type !== 'tcp') continue;
    if (h.listening) servers.add(endpointText(h.local));
    else if (h.remote !== null && h.local !== null) locals.set(endpointText(h.local), (locals.get(endpointText(h.local)) ?? 0) + 1);
  }
  for (const [local, n] of locals) if (n >= 2) servers.add(local);
  const counts = new Map<string, number>();
  for (const h of report.handles) {
    const name = countedName(h, servers);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const named = [...counts]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
    .slice(0, ALIVE_NAMES);
  return { handles: report.handles.length, activeRequests: report.activeRequests, named };
}

function observedStats(t: ThreadStats): ObservedStats {
  const { threadpool: _pool, handles: _handles, activity: _activity, current: _current, ...rest } = t;
  return rest;
}

/**
 * The main thread's view of the process's other threads through `threads()`, one `thread`
 * line each per window: a worker's own reporter runs on the worker's loop and writes
 * nothing while the worker never returns to it (a long callback, `Atomics.wait`) or once it
 * is terminated. An ended thread is written once more with its final numbers, then no more.
 */
function makeObserver(threads: (since?: ThreadStats[]) => ThreadStats[], base: { uvscope: 1; pid: number }) {
  let previous = threads();
  const done = new Set<number>();
  return (final: boolean): ThreadLine[] => {
    const windows = threads(previous);
    const totals = threads();
    previous = totals;
    const time = Date.now();
    const lines: ThreadLine[] = [];
    for (const w of windows) {
      // threadId 0 on another recorder: a worker whose uvscope has not told it its id yet.
      if (w.current || w.threadId === 0 || done.has(w.threadId)) continue;
      const total = totals.find((t) => t.threadId === w.threadId);
      if (total === undefined) continue;
      if (total.ended) done.add(w.threadId);
      lines.push({ ...base, type: 'thread', threadId: w.threadId, time, stats: observedStats(w), total: observedStats(total), activity: total.activity, final });
    }
    return lines;
  };
}

/**
 * The handle counts as they are outside the reporter's own timer callback, where it takes
 * them. Node runs every JavaScript timer on one libuv timer, which libuv stops before
 * calling it and Node restarts after the callbacks (ref'd exactly when a ref'd JavaScript
 * timer is pending): read from inside, a program kept alive by a timer shows `0 ref'd`.
 * The reporter's own interval is pending, so that handle is active again right after;
 * `keepAlive` (`process.getActiveResourcesInfo()`) says whether it is ref'd.
 */
export function outsideOwnTimer(handles: HandleSummary, keepAlive: Readonly<Record<string, number>>): HandleSummary {
  const referenced = (keepAlive['Timeout'] ?? 0) > 0 ? 1 : 0;
  return { ...handles, active: handles.active + 1, referenced: handles.referenced + referenced };
}

/**
 * Most iterations a window may have and still count as idle: the reporter's own timer,
 * the pool probe's completion, and one more.
 */
export const IDLE_ITERATIONS = 3;
/**
 * ...and under this utilization (the reporter's own work under load is a few %): a loop
 * starved of CPU (a throttled container) also manages few iterations, but is busy in
 * them, and its pool numbers are what shows it.
 */
export const IDLE_UTILIZATION = 0.25;
/** Consecutive idle windows before the probe goes off: a starved loop's utilization readings jump about. */
export const IDLE_WINDOWS = 2;

/**
 * Keeps the thread-pool probe off while the program is idle. The probe's completion is a
 * loop wake-up of its own: an idle program observed by the CLI would wake twice per
 * interval instead of once (the reporter's timer). A window with at most `IDLE_ITERATIONS`
 * iterations, utilization (less the reporter's own time) under `IDLE_UTILIZATION`, no pool thread busy or work queued
 * is idle; `IDLE_WINDOWS` of them in a row turn it off (its numbers would be
 * those of an idle pool anyway; `busy` still comes from /proc); any other window turns it
 * back on at the period in force before.
 */
export function poolProbeSwitch(
  configure: ((options: { probeIntervalMs: number }) => unknown) | undefined,
  periodMs: number,
): (stats: LoopStats, ownMs?: number) => void {
  let on = true;
  let idleWindows = 0;
  return (stats, ownMs = 0) => {
    if (configure === undefined || periodMs <= 0) return;
    const pool = stats.threadpool;
    // Its own work is the reporter's, not the program's: on a loaded machine it is most of an idle program's active time.
    const utilization = stats.windowMs > 0 ? Math.max(0, stats.activeMs - ownMs) / stats.windowMs : 0;
    const idleNow =
      stats.iterations <= IDLE_ITERATIONS && utilization < IDLE_UTILIZATION && (pool.busy ?? 0) === 0 && (pool.queued ?? 0) === 0;
    idleWindows = idleNow ? idleWindows + 1 : 0;
    const idle = idleWindows >= IDLE_WINDOWS;
    if (idle === !on) return;
    try {
      configure({ probeIntervalMs: idle ? 0 : periodMs });
      on = !idle;
    } catch {
      // the probe stays as it is
    }
  };
}

/** Starts reporting in this thread if the CLI's channel variable is set; at most once per thread. */
export function startReporter(env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[ENV_DIR];
  if (dir === undefined || dir === '') return;
  const holder = globalThis as { [started]?: boolean };
  if (holder[started] || isCaptureWorker()) return; // uvscope's own capture worker is not the program's

  holder[started] = true;

  const file = path.join(dir, `${process.pid}-${threadId}.jsonl`);
  let stopped = false;
  const write = (line: ChannelLine): void => {
    if (stopped) return;
    try {
      fs.appendFileSync(file, JSON.stringify(line, round) + '\n');
    } catch {
      stopped = true; // the CLI has gone and taken its directory with it
    }
  };
  const base = { uvscope: 1 as const, pid: process.pid, threadId };

  let api: Api;
  try {
    api = require('../index.js') as Api;
  } catch (error) {
    write({ ...base, type: 'error', time: Date.now(), message: error instanceof Error ? error.message : String(error) });
    return;
  }
  const { loopStats, iterations, whyAlive, threads } = api;
  // --handle-stacks: tracking starts before the program's own code creates anything.
  let stacks = false;
  if (env[ENV_HANDLE_STACKS] === '1') {
    try {
      api.trackHandles();
      stacks = true;
    } catch {
      // an older build without trackHandles(): names without origins
    }
  }
  // Thread-pool queue numbers need request tracking; the CLI is an investigation tool, so turn it on.
  type Configure = (options: { track?: boolean; probeIntervalMs?: number }) => { probeIntervalMs?: number } | undefined;
  const configure = (api as { configureThreadpool?: Configure }).configureThreadpool;
  let probeIntervalMs = 0;
  try {
    probeIntervalMs = configure?.({ track: true })?.probeIntervalMs ?? 0;
  } catch {
    // an older build without tracking: busy/queued stay null
  }
  const probe = poolProbeSwitch(configure, probeIntervalMs);

  const intervalMs = envNumber(env[ENV_INTERVAL], INTERVAL_DEFAULT_MS, INTERVAL_MIN_MS, INTERVAL_MAX_MS);
  const slowMs = envNumber(env[ENV_SLOW], SLOW_DEFAULT_MS, 0, SLOW_MAX_MS);
  const cliPid = Number(env[ENV_PID]);
  const directChild = threadId === 0 && Number.isInteger(cliPid) && process.ppid === cliPid;

  write({
    ...base,
    type: 'start',
    ppid: process.ppid,
    argv: process.argv,
    execArgv: process.execArgv,
    node: process.version,
    uv: process.versions.uv ?? '',
    time: Date.now(),
  });

  let previous: LoopStats = loopStats();
  let observe: ((final: boolean) => ThreadLine[]) | null = null;
  try {
    if (threadId === 0) observe = makeObserver(threads, base);
  } catch {
    // an older build without threads(): workers report only themselves
  }
  const writeObserved = (final: boolean): void => {
    if (observe === null) return;
    try {
      for (const line of observe(final)) write(line);
    } catch {
      observe = null; // the windows of this thread still go out
    }
  };
  let capture: ReturnType<typeof startStallCapture> = null;
  try {
    if (threadId === 0) capture = startStallCapture(api, env, write, base);
  } catch {
    // no stall capture; the windows go on
  }
  let slowest: Slow[] = [];
  // The reporter's own time in its previous timer callback: part of the window's active time.
  let ownMs = 0;
  let sentArgv = JSON.stringify(process.argv);
  // --trace/--report only: every slow iteration (or every one) goes out in `timeline` lines.
  const timelineMode = env[ENV_TIMELINE] === 'all' ? 'all' : env[ENV_TIMELINE] === 'slow' ? 'slow' : null;
  let timeline: IterationRecord[] = [];
  let timelineDropped = 0;
  let streamDropped = 0;
  // Read synchronously once per window (and at exit, where no promise settles any more).
  const stream = iterations({ minBusyMs: timelineMode === 'all' ? 0 : slowMs });
  const timeOrigin = performance.timeOrigin;
  // uv_hrtime (what process.hrtime reads) at performance.now() 0: Node's trace-event clock.
  const hrOriginUs = Number(process.hrtime.bigint()) / 1000 - performance.now() * 1000;

  const collect = (): void => {
    for (const record of stream.readNow()) {
      if (record.busyMs >= slowMs) keepSlowest(slowest, { ...record, time: timeOrigin + record.startMs }, SLOWEST_PER_WINDOW);
      if (timelineMode === null) continue;
      if (timeline.length < TIMELINE_MAX_PER_WINDOW) timeline.push(record);
      else timelineDropped++;
    }
  };
  const timelineLine = (): TimelineLine => {
    const lost = stream.dropped - streamDropped;
    streamDropped = stream.dropped;
    const line: TimelineLine = { ...base, type: 'timeline', time: Date.now(), hrOriginUs, iterations: timeline, dropped: timelineDropped + lost };
    timeline = [];
    timelineDropped = 0;
    return line;
  };
  if (timelineMode !== null) write(timelineLine());
  const drain =
    timelineMode === 'all'
      ? setInterval(() => {
          try {
            collect();
          } catch {
            // the window's own read reports the failure
          }
        }, DRAIN_MS)
      : null;
  drain?.unref();

  const window = (final: boolean): WindowLine => {
    collect();
    const stats = loopStats(previous);
    previous = stats;
    const keep = final ? null : keepAlive();
    if (keep !== null) stats.handles = outsideOwnTimer(stats.handles, keep);
    if (!final) probe(stats, ownMs);
    // Named only up to ALIVE_DETAIL_MAX referenced handles, to keep the walk cheap.
    let report: AliveReport | null = null;
    try {
      if (stats.handles.referenced <= ALIVE_DETAIL_MAX) report = whyAlive({ stacks });
    } catch {
      // the window goes out with the counts alone
    }
    const alive = report === null ? null : aliveLine(report);
    // whyAlive() already counted Node's names; count them here only when it did not run.
    const line: WindowLine = { ...base, type: 'window', time: Date.now(), stats, slowest, keepAlive: report?.nodeResources ?? keep ?? keepAlive(), alive, final };
    slowest = [];
    const argv = JSON.stringify(process.argv);
    if (argv !== sentArgv) {
      sentArgv = argv;
      line.argv = process.argv;
    }
    return line;
  };

  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
    if (drain !== null) clearInterval(drain);
    void stream.return?.();
    capture?.stop();
    process.removeListener('exit', onExit);
  };

  // A CLI killed outright (SIGKILL) cannot end its program; the program it started directly
  // notices within an interval and ends itself as the CLI would have: SIGTERM.
  const cliGone = (): boolean => {
    if (!directChild) return false;
    try {
      process.kill(cliPid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH' && fs.existsSync(dir);
    }
  };

  const timer = setInterval(() => {
    try {
      if (cliGone()) {
        stop();
        process.kill(process.pid, 'SIGTERM');
        return;
      }
      const began = performance.now();
      write(window(false));
      if (timelineMode !== null) write(timelineLine());
      writeObserved(false);
      ownMs = performance.now() - began;
    } catch {
      stop();
    }
  }, intervalMs);
  timer.unref();

  function onExit(code: number): void {
    try {
      const line = window(true);
      line.total = loopStats();
      line.exitCode = code;
      write(line);
      if (timelineMode !== null) write(timelineLine());
      writeObserved(true);
    } catch {
      // never disturb the exit
    }
    stop();
  }
  process.on('exit', onExit);
}
