// `--trace <file>`: the run as a Chrome JSON trace (Perfetto's UI opens it; so does the legacy
// chrome://tracing). A bare array written one whole event per line as lines arrive, so a
// trace cut short (the CLI killed, the disk full) still loads up to its last line: Perfetto
// and catapult accept an array without its closing `]`, never a half-written event.
//
// Clock: `ts`/`dur` in µs on uv_hrtime(), the clock of Node's own trace events and of
// `--cpu-prof`, so a uvscope trace lines up with `node --trace-event-categories ...`.
// uvscope's slices sit on their own synthetic thread per loop (boundaries differ from Node's
// by µs, and mixing them on one track breaks nesting).
//
// Phases are laid out in integer nanoseconds and clamped to their iteration: float sums of
// ms values broke nesting for 7% of phase slices in a prototype.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

import type { IterationRecord, LoopStats } from '../types.js';
import type { ObservedStats, StartLine, ThreadLine, TimelineLine, WindowLine } from './protocol.js';

/** Synthetic thread ids of uvscope's tracks: this plus the loop's `threadId` (real tids are far below). */
export const TRACK_TID_BASE = 1_000_000_000;

/** One Chrome trace event (the subset written here). */
export interface TraceEvent {
  ph: 'M' | 'X' | 'i' | 'C';
  name: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  s?: 'g' | 'p' | 't';
  cat?: string;
  args?: Record<string, unknown>;
}

interface LoopClock {
  hrOriginUs: number;
}

/** Phases in the order libuv runs them after `prepare`: wait, I/O callbacks, check, then closing/timers/pending/idle. */
const PHASES = [
  ['pollWait', 'pollWaitMs'],
  ['poll', 'pollMs'],
  ['check', 'checkMs'],
  ['timers', 'timersMs'],
] as const;

const ns = (ms: number): number => Math.round(ms * 1e6);
const us = (nanos: number): number => nanos / 1000;

/** A readable name for a process from its argv: `node server.js --port 80` (data, never markup). */
export function processLabel(argv: readonly string[], pid: number): string {
  const [exe = 'node', script, ...rest] = argv;
  const base = (p: string) => p.split('/').pop() ?? p;
  const text = [base(exe), ...(script === undefined ? [] : [base(script)]), ...rest].join(' ');
  return `${text.length > 100 ? text.slice(0, 99) + '…' : text} (pid ${pid})`;
}

export function threadLabel(threadId: number): string {
  return threadId === 0 ? 'main thread' : `worker ${threadId}`;
}

/** A slow iteration and its phases as nested `X` slices, in integer ns, each phase inside its iteration. */
export function iterationEvents(it: IterationRecord, pid: number, tid: number, hrOriginUs: number): TraceEvent[] {
  const start = Math.round(hrOriginUs * 1000) + ns(it.startMs);
  const end = start + Math.max(0, ns(it.durationMs));
  const events: TraceEvent[] = [
    {
      ph: 'X',
      cat: 'uvscope',
      name: 'iteration',
      pid,
      tid,
      ts: us(start),
      dur: us(end - start),
      args: { index: it.index, busyMs: it.busyMs, durationMs: it.durationMs, events: it.events },
    },
  ];
  let cursor = start;
  for (const [name, key] of PHASES) {
    const from = Math.min(cursor, end);
    const to = Math.min(from + Math.max(0, ns(it[key])), end);
    cursor = to;
    // No args: dur says it, and this is most of a --trace-all file's size.
    if (to > from) events.push({ ph: 'X', name, pid, tid, ts: us(from), dur: us(to - from) });
  }
  return events;
}

/** Per-window counters of one loop, at the window's start (a counter holds its value until the next sample). */
export function windowEvents(stats: LoopStats | ObservedStats, pid: number, threadId: number, hrOriginUs: number, who = threadLabel(threadId)): TraceEvent[] {
  const ts = us(Math.round(hrOriginUs * 1000) + ns(stats.timestamp - stats.windowMs));
  const c = (name: string, args: Record<string, number>): TraceEvent => ({ ph: 'C', name: `${name} (${who})`, pid, ts, args });
  const events = [
    c('utilization %', { value: Math.round(stats.utilization * 1000) / 10 }),
    c('busy ms by phase', { poll: stats.phases.poll.totalMs, check: stats.phases.check.totalMs, timers: stats.phases.timers.totalMs }),
    c('busy per iteration ms', { p99: stats.busy.p99Ms, max: stats.busy.maxMs }),
  ];
  const handles = 'handles' in stats ? stats.handles : null;
  if (handles !== null && Object.keys(handles.byType).length > 0) events.push(c('handles', { ...handles.byType }));
  const pool = 'threadpool' in stats ? stats.threadpool : undefined;
  // The pool belongs to the process: its main thread's lines carry it.
  if (threadId === 0 && pool !== undefined && pool.started) {
    if (pool.busy !== null && pool.queued !== null) events.push({ ph: 'C', name: 'thread pool', pid, ts, args: { busy: pool.busy, queued: pool.queued } });
    if (pool.queueWait.count > 0) events.push({ ph: 'C', name: 'thread pool queue wait ms', pid, ts, args: { p99: pool.queueWait.p99Ms, max: pool.queueWait.maxMs } });
  }
  return events;
}

type Frame = { functionName?: unknown; url?: unknown; line?: unknown; column?: unknown };

/** A stack frame as one line of text (function names and urls are the program's data). */
export function frameText(f: Frame): string {
  const fn = typeof f.functionName === 'string' && f.functionName !== '' ? f.functionName : '(anonymous)';
  const url = typeof f.url === 'string' && f.url !== '' ? f.url : '';
  return url === '' ? fn : `${fn} (${url}:${String(f.line ?? '?')}:${String(f.column ?? '?')})`;
}

/** Node's trace-event files of a run go in the channel directory, one per process. */
const NODE_TRACE_FILE = /^node_trace\.\d+\.\d+\.log$/;

/** NODE_OPTIONS for `--trace-node`: Node's own trace events, written at exit into `dir`. */
export function nodeTraceOptions(dir: string): string {
  const pattern = `${dir}/node_trace.\${pid}.\${rotation}.log`.replace(/(["\\])/g, '\\$1');
  return `--trace-event-categories node.environment --trace-event-file-pattern "${pattern}"`;
}

/** Writes the trace as lines arrive; `add` takes every parsed channel line, ignores what it does not draw. */
export class TraceWriter {
  private fd: number | null = null;
  private gzip: zlib.Gzip | null = null;
  private out: fs.WriteStream | null = null;
  private readonly lastWindowUs = new Map<string, number>();
  private readonly ownWindows = new Set<string>();
  private first = true;
  private readonly clocks = new Map<string, LoopClock>();
  private readonly named = new Set<string>();
  private readonly pending = new Map<string, LoopStats[]>();

  constructor(private readonly file: string) {
    if (file.endsWith('.gz')) {
      this.gzip = zlib.createGzip();
      this.out = fs.createWriteStream(file);
      this.gzip.pipe(this.out);
    } else {
      this.fd = fs.openSync(file, 'w');
    }
    this.raw('[\n');
  }

  private raw(text: string): void {
    if (this.gzip !== null) this.gzip.write(text);
    else if (this.fd !== null) fs.writeSync(this.fd, text);
  }

  private emit(events: TraceEvent[]): void {
    if (events.length === 0) return;
    let text = '';
    for (const e of events) {
      text += (this.first ? '' : ',') + JSON.stringify(e) + '\n';
      this.first = false;
    }
    this.raw(text);
  }

  private nameProcess(pid: number, label: string): void {
    if (this.named.has(`p${pid}`)) return;
    this.named.add(`p${pid}`);
    this.emit([{ ph: 'M', name: 'process_name', pid, args: { name: label } }]);
  }

  private nameThread(pid: number, threadId: number): void {
    const key = `t${pid}-${threadId}`;
    if (this.named.has(key)) return;
    this.named.add(key);
    const tid = TRACK_TID_BASE + threadId;
    this.emit([
      { ph: 'M', name: 'thread_name', pid, tid, args: { name: `${threadLabel(threadId)} event loop (uvscope)` } },
      { ph: 'M', name: 'thread_sort_index', pid, tid, args: { sort_index: threadId } },
    ]);
  }

  add(line: unknown): void {
    if (typeof line !== 'object' || line === null) return;
    const l = line as { type?: unknown; pid?: unknown; threadId?: unknown };
    if (typeof l.pid !== 'number' || typeof l.threadId !== 'number') return;
    const { pid, threadId } = l;
    const key = `${pid}-${threadId}`;
    const tid = TRACK_TID_BASE + threadId;
    switch (l.type) {
      case 'start': {
        const s = line as StartLine;
        if (threadId === 0) this.nameProcess(pid, processLabel(Array.isArray(s.argv) ? s.argv.map(String) : [], pid));
        this.nameThread(pid, threadId);
        break;
      }
      case 'timeline': {
        const t = line as TimelineLine;
        const clock = { hrOriginUs: t.hrOriginUs };
        this.clocks.set(key, clock);
        this.nameThread(pid, threadId);
        const events: TraceEvent[] = [];
        for (const stats of this.pending.get(key) ?? []) events.push(...windowEvents(stats, pid, threadId, clock.hrOriginUs));
        this.pending.delete(key);
        for (const it of t.iterations) events.push(...iterationEvents(it, pid, tid, clock.hrOriginUs));
        const at = this.lastWindowUs.get(key);
        if (t.dropped > 0 && at !== undefined) events.push({ ph: 'C', name: `iterations not recorded (${threadLabel(threadId)})`, pid, ts: at, args: { value: t.dropped } });
        this.emit(events);
        break;
      }
      case 'window': {
        const w = line as WindowLine;
        this.ownWindows.add(key);
        const clock = this.clocks.get(key);
        // A window read before its thread's first timeline line waits for the clock.
        if (clock === undefined) this.pending.set(key, [...(this.pending.get(key) ?? []), w.stats]);
        else this.emit(windowEvents(w.stats, pid, threadId, clock.hrOriginUs));
        if (clock !== undefined) this.lastWindowUs.set(key, us(Math.round(clock.hrOriginUs * 1000) + ns(w.stats.timestamp - w.stats.windowMs)));
        break;
      }
      case 'thread': {
        // A worker whose own reporter is silent, as its process's main thread sees it (on the
        // main thread's clock): counters, and where it was at the end.
        const th = line as ThreadLine;
        const clock = this.clocks.get(`${pid}-0`);
        if (this.ownWindows.has(key) || clock === undefined || th.stats === undefined) break;
        this.nameThread(pid, threadId);
        const events = windowEvents(th.stats, pid, threadId, clock.hrOriginUs, `${threadLabel(threadId)}, seen from main thread`);
        const a = th.activity;
        if (th.final && a !== undefined && a !== null && a.busyMs >= 1) {
          const ts = us(Math.round(clock.hrOriginUs * 1000) + ns(th.stats.timestamp));
          events.push({ ph: 'i', s: 't', cat: 'uvscope', name: `${a.state}${a.kernel?.syscall ? ' in ' + a.kernel.syscall : ''}, ${a.busyMs.toFixed(0)} ms into its iteration`, pid, tid, ts, args: { ...a } });
        }
        this.emit(events);
        break;
      }
      case 'stall': {
        const clock = this.clocks.get(key);
        const s = line as { startMs?: unknown; blockedMs?: unknown; phase?: unknown; capture?: unknown; stack?: unknown };
        if (clock === undefined || typeof s.startMs !== 'number') break;
        const stack = Array.isArray(s.stack) ? (s.stack as Frame[]).map(frameText) : [];
        const blocked = typeof s.blockedMs === 'number' ? `${s.blockedMs.toFixed(0)} ms` : '';
        this.emit([
          {
            ph: 'i',
            s: 't',
            cat: 'uvscope',
            name: `stall ${blocked}${typeof s.phase === 'string' ? ' in ' + s.phase : ''}`.trim(),
            pid,
            tid,
            ts: us(Math.round(clock.hrOriginUs * 1000) + ns(s.startMs)),
            args: { blockedMs: s.blockedMs, phase: s.phase, capture: s.capture, stack },
          },
        ]);
        break;
      }
      case 'error': {
        const e = line as { message?: unknown };
        this.nameThread(pid, threadId);
        const clock = this.clocks.get(key);
        if (clock !== undefined) this.emit([{ ph: 'i', s: 't', name: `uvscope could not start: ${String(e.message)}`, pid, tid, ts: us(Math.round(clock.hrOriginUs * 1000)) }]);
        break;
      }
    }
  }

  /**
   * Appends Node's own trace events (`--trace-node`) from the files its processes wrote into
   * `dir` at exit: same clock, same pids, the real thread ids. A file cut short is skipped.
   * Returns how many events were merged.
   */
  addNodeTraces(dir: string): number {
    let merged = 0;
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).filter((n) => NODE_TRACE_FILE.test(n));
    } catch {
      return 0;
    }
    for (const name of names.sort()) {
      let events: unknown;
      try {
        events = (JSON.parse(fs.readFileSync(`${dir}/${name}`, 'utf8')) as { traceEvents?: unknown }).traceEvents;
      } catch {
        continue;
      }
      if (!Array.isArray(events)) continue;
      const ok = events.filter((e): e is TraceEvent => typeof e === 'object' && e !== null && typeof (e as TraceEvent).ph === 'string');
      for (let i = 0; i < ok.length; i += 1000) this.emit(ok.slice(i, i + 1000));
      merged += ok.length;
    }
    return merged;
  }

  /** Closes the array; `done` runs once the file is complete (a gzip stream finishes asynchronously). */
  close(done?: () => void): void {
    this.raw('\n]\n');
    if (this.gzip !== null) {
      const gzip = this.gzip;
      this.gzip = null;
      this.out?.once('close', () => done?.());
      gzip.end();
      return;
    }
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    done?.();
  }

  /** Pushes what gzip holds to the file (a sync flush: a trace cut short still decompresses up to here). */
  flush(): void {
    this.gzip?.flush(zlib.constants.Z_SYNC_FLUSH);
  }
}
