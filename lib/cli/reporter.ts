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

import { describeHandle, endpointText } from '../handles.js';
import type { AliveReport, HandleInfo, IterationRecord, LoopStats, ThreadStats } from '../types.js';
import {
  ALIVE_DETAIL_MAX,
  ALIVE_NAMES,
  type AliveLine,
  type ChannelLine,
  ENV_DIR,
  ENV_INTERVAL,
  ENV_PID,
  ENV_SLOW,
  INTERVAL_DEFAULT_MS,
  INTERVAL_MAX_MS,
  INTERVAL_MIN_MS,
  keepSlowest,
  SLOW_DEFAULT_MS,
  SLOW_MAX_MS,
  SLOWEST_PER_WINDOW,
  type ObservedStats,
  type ThreadLine,
  type WindowLine,
} from './protocol.js';
import { isCaptureWorker } from '../stall-frames.js';
import { startStallCapture } from './stalls.js';

type Api = typeof import('../index.js');
type Slow = IterationRecord & { time: number };

const started = Symbol.for('uvscope.cli.reporter');

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
  if (h.type !== 'tcp' || h.listening || h.remote === null) return describeHandle(h);
  const local = endpointText(h.local);
  return servers.has(local) ? `tcp ${local} <- client` : `tcp -> ${endpointText(h.remote)}`;
}

/** A `whyAlive()` report with equal names counted. */
function aliveLine(report: AliveReport): AliveLine {
  const servers = new Set<string>();
  for (const h of report.handles) if (h.type === 'tcp' && h.listening) servers.add(endpointText(h.local));
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
  // Thread-pool queue numbers need request tracking; the CLI is an investigation tool, so turn it on.
  const configure = (api as { configureThreadpool?: (options: { track: boolean }) => unknown }).configureThreadpool;
  try {
    configure?.({ track: true });
  } catch {
    // an older build without tracking: busy/queued stay null
  }

  const intervalMs = envNumber(env[ENV_INTERVAL], INTERVAL_DEFAULT_MS, INTERVAL_MIN_MS, INTERVAL_MAX_MS);
  const slowMs = envNumber(env[ENV_SLOW], SLOW_DEFAULT_MS, 0, SLOW_MAX_MS);
  const cliPid = Number(env[ENV_PID]);
  const directChild = threadId === 0 && Number.isInteger(cliPid) && process.ppid === cliPid;

  write({
    ...base,
    type: 'start',
    ppid: process.ppid,
    argv: process.argv,
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
  // Read synchronously once per window (and at exit, where no promise settles any more).
  const stream = iterations({ minBusyMs: slowMs });
  const timeOrigin = performance.timeOrigin;

  const window = (final: boolean): WindowLine => {
    for (const record of stream.readNow()) keepSlowest(slowest, { ...record, time: timeOrigin + record.startMs }, SLOWEST_PER_WINDOW);
    const stats = loopStats(previous);
    previous = stats;
    // Named only up to ALIVE_DETAIL_MAX referenced handles, to keep the walk cheap.
    let report: AliveReport | null = null;
    try {
      if (stats.handles.referenced <= ALIVE_DETAIL_MAX) report = whyAlive();
    } catch {
      // the window goes out with the counts alone
    }
    const alive = report === null ? null : aliveLine(report);
    // whyAlive() already counted Node's names; count them here only when it did not run.
    const line: WindowLine = { ...base, type: 'window', time: Date.now(), stats, slowest, keepAlive: report?.nodeResources ?? keepAlive(), alive, final };
    slowest = [];
    return line;
  };

  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
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
      write(window(false));
      writeObserved(false);
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
      writeObserved(true);
    } catch {
      // never disturb the exit
    }
    stop();
  }
  process.on('exit', onExit);
}
