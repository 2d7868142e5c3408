// The CLI's stall capture, inside the observed program's main thread: one stalls() stream
// (the watchdog observes every thread of the process; the capture worker takes the main
// thread's stack). Each finished episode goes out as a 'stall' JSON line at once. The stream
// is unref'd like everything the reporter starts. The watchdog also credits waits libuv lost
// to a signal (EINTR), so a program stopped by SIGTERM does not end on a busy-looking window.
import type { StallRecord } from '../types.js';
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
