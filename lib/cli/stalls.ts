// The CLI's stall capture, inside the observed program's main thread: one stalls() stream
// (the watchdog observes every thread of the process; the capture worker takes the main
// thread's stack). Each finished episode goes out as a 'stall' JSON line at once. The stream
// is unref'd like everything the reporter starts. The watchdog also credits waits libuv lost
// to a signal (EINTR), so a program stopped by SIGTERM does not end on a busy-looking window.
import * as path from 'node:path';

import type { StallFrame, StallRecord } from '../types.js';
import { ENV_STALL, STALL_DEFAULT_MS, STALL_MAX_MS, type StallLine } from './protocol.js';

type Api = typeof import('../index.js');

/** Stall records kept for the final window, most recent last. */
const KEEP = 64;

export interface StallCapture {
  /** Records received since the last call (and kept for the summary). */
  take(): StallRecord[];
  stop(): void;
}

function thresholdFrom(env: NodeJS.ProcessEnv): number {
  const raw = env[ENV_STALL];
  const n = raw === undefined || raw === '' ? STALL_DEFAULT_MS : Number(raw);
  if (!Number.isFinite(n)) return STALL_DEFAULT_MS;
  return Math.min(STALL_MAX_MS, Math.max(0, n));
}

/** Starts capture when the threshold is not 0 and this build has stalls(); else null. */
export function startStallCapture(
  api: Api,
  env: NodeJS.ProcessEnv,
  write: (line: StallLine) => void,
  base: { uvscope: 1; pid: number; threadId: number },
): StallCapture | null {
  const thresholdMs = thresholdFrom(env);
  const stalls = (api as Partial<Api>).stalls;
  if (thresholdMs === 0 || stalls === undefined) return null;
  const stream = stalls({ thresholdMs: Math.max(1, thresholdMs) });
  let pending: StallRecord[] = [];
  let stopped = false;
  void (async () => {
    try {
      for await (const record of stream) {
        if (stopped) break;
        write({ ...base, type: 'stall', time: Date.now(), ...record });
        pending.push(record);
        if (pending.length > KEEP) pending.shift();
      }
    } catch {
      // stall capture stops; the windows go on
    }
  })();
  return {
    take() {
      const out = pending;
      pending = [];
      return out;
    },
    stop() {
      stopped = true;
      void stream.return?.();
    },
  };
}

// ---- The CLI side: what the model keeps and the summary shows ----

/** Stall lines kept per thread (the newest); the groups count every one. */
const KEEP_LINES = 256;

/** One group of stalls with the same top user frame, for the summary. */
export interface StallGroup {
  /**
   * The first user frame (`handler (server.js:42)`), with the innermost frame in front when
   * every stall of the group was inside the same one (`readFileSync ← handler (server.js:42)`).
   */
  where: string;
  count: number;
  longestMs: number;
  /** The innermost frames (Node's or V8's builtins) the group's stacks landed in, the first 4 seen. */
  inside: string[];
  /** `longestMs` is a stall whose iteration never ended: the thread was still in it at the end (a lower bound). */
  unended?: boolean;
}

/** A group's key and parts: stalls under one user frame are one group, whatever builtin they were in. */
interface GroupParts {
  key: string;
  user: string | null;
  inner: string | null;
}

/** What the model keeps of a thread's stalls. */
export interface StallState {
  lines: StallLine[];
  groups: Map<string, StallGroup & { plain: number; insideAll: Set<string> }>;
  /** Episodes already counted (by iteration), so an at-once line and its final one count once. */
  counted: Set<number>;
}

export function emptyStallState(): StallState {
  return { lines: [], groups: new Map(), counted: new Set() };
}

// uvscope's own JavaScript (this package's dist/, which the observed program loads through
// the CLI's preload): instrumentation, never the program's code. Its pool tracking runs a
// microtask after each crypto call, so a stall detected just as a synchronous crypto call
// returned can land there; blaming that frame would send the user to uvscope.
const ownDir = path.resolve(__dirname, '..') + path.sep;
const filePath = (url: string) => url.replace(/^file:\/\//, '');
const ownFrame = (f: StallFrame) => filePath(f.url).startsWith(ownDir);
const userFrame = (f: StallFrame) => f.url !== '' && !f.url.startsWith('node:') && !ownFrame(f);
const fileName = (url: string) => filePath(url).split('/').pop() ?? url;
const frameText = (f: StallFrame) => `${f.functionName || '(anonymous)'} (${fileName(f.url)}:${f.line})`;

/**
 * Where a stall was: node internals collapsed to the innermost frame and the first user
 * frame; a stack of uvscope's own frames and Node's only says the block was over by then.
 */
export function stallWhere(s: Pick<StallRecord, 'stack' | 'capture' | 'thread'>): string {
  const stack = s.stack ?? [];
  const user = stack.find(userFrame);
  const inner = stack[0];
  if (user !== undefined) return inner !== undefined && inner !== user ? `${inner.functionName || '(native)'} ← ${frameText(user)}` : frameText(user);
  const state = s.thread?.syscall ? `, in ${s.thread.syscall}` : s.thread ? `, ${s.thread.state}` : '';
  if (stack.some(ownFrame)) return `(no frame of yours: the stack was taken after the block, in uvscope's own code${state})`;
  if (inner !== undefined) return frameText(inner);
  return `(no stack: ${s.capture}${state})`;
}

function groupParts(s: Pick<StallRecord, 'stack' | 'capture' | 'thread'>): GroupParts {
  const stack = s.stack ?? [];
  const user = stack.find(userFrame);
  if (user === undefined) return { key: stallWhere(s), user: null, inner: null };
  const inner = stack[0] !== undefined && stack[0] !== user ? stack[0].functionName || '(native)' : null;
  return { key: frameText(user), user: frameText(user), inner };
}

/** Takes a 'stall' line into the thread's state. */
export function addStall(state: StallState, line: StallLine): void {
  const known = state.lines.findIndex((l) => l.iteration === line.iteration);
  if (known >= 0) {
    // The final line of an episode replaces its at-once line, keeping the stack it had.
    const earlier = state.lines[known]!;
    state.lines[known] = line.stack === null && earlier.stack !== null ? { ...line, stack: earlier.stack, capture: earlier.capture, landedAfterMs: earlier.landedAfterMs } : line;
  } else {
    state.lines.push(line);
    if (state.lines.length > KEEP_LINES) state.lines.shift();
  }
  const final = known >= 0 ? state.lines[known]! : line;
  const parts = groupParts(final);
  const ms = final.busyMs ?? final.blockedMs;
  let group = state.groups.get(parts.key);
  if (!state.counted.has(line.iteration)) {
    state.counted.add(line.iteration);
    if (state.counted.size > 4 * KEEP_LINES) state.counted.delete(state.counted.values().next().value!);
    if (group === undefined) state.groups.set(parts.key, (group = { where: parts.key, count: 0, longestMs: 0, inside: [], plain: 0, insideAll: new Set() }));
    group.count++;
    if (parts.inner === null) group.plain++;
    else group.insideAll.add(parts.inner);
    group.inside = [...group.insideAll].slice(0, 4);
    group.where = parts.user !== null && group.plain === 0 && group.insideAll.size === 1 ? `${parts.inner} ← ${parts.user}` : parts.key;
  }
  if (group !== undefined) group.longestMs = Math.max(group.longestMs, ms);
}

/**
 * A stall whose iteration never ended (a worker that ended, or the program exited, inside
 * it): its length is what the thread had spent in that iteration by the end, not the
 * blocked time at detection. Takes the thread's last view of that iteration.
 */
export function endOpenStall(state: StallState, iteration: number, busyMs: number): void {
  const line = state.lines.find((l) => l.iteration === iteration && l.busyMs === null);
  if (line === undefined) return;
  const group = state.groups.get(groupParts(line).key);
  if (group === undefined || busyMs < line.blockedMs) return;
  if (busyMs >= group.longestMs) {
    group.longestMs = busyMs;
    group.unended = true;
  }
}

/** The stall of an iteration, if one was captured (for `slowest[].stall`). */
export function stallOf(state: StallState, iteration: number): StallLine | null {
  return state.lines.find((l) => l.iteration === iteration) ?? null;
}

/** Groups, most frequent first. */
export function stallGroups(state: StallState): StallGroup[] {
  return [...state.groups.values()]
    .map(({ where, count, longestMs, inside, unended }) => ({ where, count, longestMs, inside, ...(unended ? { unended } : {}) }))
    .sort((a, b) => b.count - a.count || b.longestMs - a.longestMs);
}

/** Summary text lines for a thread's stalls. */
export function stallSummaryLines(state: StallState, ms: (v: number) => string, max = 5): string[] {
  const groups = stallGroups(state);
  if (groups.length === 0) return ['    none over the --stall-ms threshold'];
  const lines = groups.slice(0, max).map((g) => {
    // Several builtins under one user frame (a CPU-bound handler): name them after it.
    const inside = !g.where.includes(' ← ') && g.inside.length > 1 ? ` (in ${g.inside.slice(0, 3).join(', ')}${g.inside.length > 3 ? ', …' : ''})` : '';
    return `    ${g.where} × ${g.count}, longest ${ms(g.longestMs)}${g.unended ? ' (never ended: still in it at the end)' : ''}${inside}`;
  });
  if (groups.length > max) lines.push(`    … ${groups.length - max} more places`);
  return lines;
}

/** The stall the thread is in now: an at-once line whose episode has not ended yet. */
export function ongoingStall(state: StallState): StallLine | null {
  const last = state.lines[state.lines.length - 1];
  return last !== undefined && last.busyMs === null ? last : null;
}

/** `blocked 3.2s in handler (server.js:42) ← …` for the live view, or null. */
export function ongoingStallText(state: StallState, now: number, ms: (v: number) => string): string | null {
  const s = ongoingStall(state);
  if (s === null) return null;
  const blocked = s.blockedMs + Math.max(0, now - s.time);
  const frames = (s.stack ?? []).filter(userFrame);
  const where = frames.length > 0 ? `in ${frames.map(frameText).join(' ← ')}` : stallWhere(s);
  return `${ms(blocked)} ${where}`;
}
