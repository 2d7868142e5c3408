// The CLI's stall capture, inside the observed program's main thread: one stalls() stream
// (the watchdog observes every thread of the process; the capture worker takes the main
// thread's stack). Each finished episode goes out as a 'stall' JSON line at once. The stream
// is unref'd like everything the reporter starts. The watchdog also credits waits libuv lost
// to a signal (EINTR), so a program stopped by SIGTERM does not end on a busy-looking window.
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
  /** `readFileSync ← handler (server.js:42)`: the innermost frame, then the first user frame. */
  where: string;
  count: number;
  longestMs: number;
}

/** What the model keeps of a thread's stalls. */
export interface StallState {
  lines: StallLine[];
  groups: Map<string, StallGroup>;
  /** Episodes already counted (by iteration), so an at-once line and its final one count once. */
  counted: Set<number>;
}

export function emptyStallState(): StallState {
  return { lines: [], groups: new Map(), counted: new Set() };
}

const userFrame = (f: StallFrame) => f.url !== '' && !f.url.startsWith('node:');
const fileName = (url: string) => url.replace(/^file:\/\//, '').split('/').pop() ?? url;
const frameText = (f: StallFrame) => `${f.functionName || '(anonymous)'} (${fileName(f.url)}:${f.line})`;

/** Where a stall was: node internals collapsed to the innermost frame and the first user frame. */
export function stallWhere(s: Pick<StallRecord, 'stack' | 'capture' | 'thread'>): string {
  const stack = s.stack ?? [];
  const user = stack.find(userFrame);
  const inner = stack[0];
  if (user !== undefined) return inner !== undefined && inner !== user ? `${inner.functionName || '(native)'} ← ${frameText(user)}` : frameText(user);
  if (inner !== undefined) return frameText(inner);
  const sys = s.thread?.syscall;
  return `(no stack: ${s.capture}${sys ? `, in ${sys}` : s.thread ? `, ${s.thread.state}` : ''})`;
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
  const where = stallWhere(final);
  const ms = final.busyMs ?? final.blockedMs;
  if (!state.counted.has(line.iteration)) {
    state.counted.add(line.iteration);
    if (state.counted.size > 4 * KEEP_LINES) state.counted.delete(state.counted.values().next().value!);
    const group = state.groups.get(where) ?? { where, count: 0, longestMs: 0 };
    group.count++;
    group.longestMs = Math.max(group.longestMs, ms);
    state.groups.set(where, group);
  } else {
    const group = state.groups.get(where);
    if (group !== undefined) group.longestMs = Math.max(group.longestMs, ms);
  }
}

/** The stall of an iteration, if one was captured (for `slowest[].stall`). */
export function stallOf(state: StallState, iteration: number): StallLine | null {
  return state.lines.find((l) => l.iteration === iteration) ?? null;
}

/** Groups, most frequent first. */
export function stallGroups(state: StallState): StallGroup[] {
  return [...state.groups.values()].sort((a, b) => b.count - a.count || b.longestMs - a.longestMs);
}

/** Summary text lines for a thread's stalls. */
export function stallSummaryLines(state: StallState, ms: (v: number) => string, max = 5): string[] {
  const groups = stallGroups(state);
  if (groups.length === 0) return ['    none over the --stall-ms threshold'];
  const lines = groups.slice(0, max).map((g) => `    ${g.where} × ${g.count}, longest ${ms(g.longestMs)}`);
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
  const frames = (s.stack ?? []).filter((f) => f.url !== '' && !f.url.startsWith('node:'));
  const where = frames.length > 0 ? `in ${frames.map(frameText).join(' ← ')}` : stallWhere(s);
  return `${ms(blocked)} ${where}`;
}
