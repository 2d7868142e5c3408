// The capture worker (started by lib/stalls.ts, one per process): woken by the native
// watchdog through a thread-safe function when the main thread stalls, it asks the main
// thread for its JavaScript stack with one Runtime.evaluate over a session it connects for
// that capture only. No domain is ever enabled (the Debugger domain makes 1M awaits 7x
// slower, STALLS.md), and the session is closed after each capture, so process.exit() never
// waits for a debugger to disconnect.
import * as inspector from 'node:inspector';

import * as fs from 'node:fs';
import * as path from 'node:path';
import { workerData } from 'node:worker_threads';

import { binding } from './binding.js';
import { ENV_DIR } from './cli/protocol.js';
import { perfOffsetMs } from './loop.js';
import { CAPTURE_KEY } from './stall-frames.js';
import { toStallRecord } from './stalls.js';

const native = binding();
const expression = `globalThis[Symbol.for(${JSON.stringify(CAPTURE_KEY)})]?.()`;
const stackBytes = native.stallLayout.stackBytes;

type Session = inspector.Session & { connectToMainThread(): void };

// Under the CLI, the episode goes out at once, while the thread is still blocked (it may
// never recover, or be killed): appended to the main thread's own channel file, whole lines
// with O_APPEND as the reporter writes them; the line's threadId is the stalled thread's.
// Its final line follows when it ends.
const cliDir = process.env[ENV_DIR] === undefined || process.env[ENV_DIR] === '' ? undefined : process.env[ENV_DIR];
const offsetMs = perfOffsetMs();
// performance.now() of the main thread: its time origin is passed in, ours differs.
const mainOriginShiftMs =
  performance.timeOrigin - ((workerData as { mainTimeOrigin?: number } | null)?.mainTimeOrigin ?? performance.timeOrigin);

function writeAtOnce(raw: Parameters<typeof toStallRecord>[0] & { clockNowNs: number; hrNowNs: number }): void {
  try {
    const record = toStallRecord(raw, raw.clockNowNs, raw.hrNowNs, offsetMs + mainOriginShiftMs);
    const line = { uvscope: 1, type: 'stall', pid: process.pid, time: Date.now(), ...record, busyMs: null, phase: null };
    fs.appendFileSync(path.join(cliDir!, `${process.pid}-0.jsonl`), JSON.stringify(line) + '\n');
  } catch {
    // the CLI has gone; the final record still reaches the reporter
  }
}

// The main thread's time waiting for a CPU (Linux schedstat run_delay, ns; its tid is the
// pid): a main thread preempted on a loaded machine runs the capture late although it was
// running JavaScript all along. NaN where it cannot be read.
const mainSchedstat = `/proc/self/task/${process.pid}/schedstat`;
function mainRunDelayNs(): number {
  try {
    return Number(fs.readFileSync(mainSchedstat, 'latin1').split(' ')[1]);
  } catch {
    return Number.NaN;
  }
}

function capture(episode: number, iteration: number, requestHrNs: number): void {
  const Ctor = inspector.Session as unknown as (new () => Session) | undefined;
  if (Ctor === undefined || typeof Ctor.prototype.connectToMainThread !== 'function') {
    native.stallCaptureResult(episode, iteration, requestHrNs, true, '');
    return;
  }
  let session: Session | undefined;
  let settled = false;
  // When the request was sent to the main thread: the landing is measured from here, so a
  // capture worker that waited for a CPU (a loaded machine) does not turn exact into deferred.
  let postedHrNs = requestHrNs;
  let delayAtPostNs = Number.NaN;
  const finish = (mainIteration: number, landedHrNs: number, unavailable: boolean, stack: string): void => {
    if (settled) return;
    settled = true;
    try {
      session?.disconnect();
    } catch {
      // already gone
    }
    // Less the main thread's own wait for a CPU meanwhile (read after the landing, so it may
    // include a little after it: it errs towards exact only by preemption, never by a
    // native call, which is what deferred is about).
    const preemptedNs = Math.max(0, mainRunDelayNs() - delayAtPostNs) || 0;
    const landedAfterPost = landedHrNs === 0 ? 0 : requestHrNs + Math.max(0, landedHrNs - postedHrNs - preemptedNs);
    const current = native.stallCaptureResult(episode, mainIteration, landedAfterPost, unavailable, stack);
    if (current !== null && cliDir !== undefined) writeAtOnce(current);
  };
  try {
    session = new Ctor();
    session.connectToMainThread();
    delayAtPostNs = mainRunDelayNs();
    postedHrNs = Number(process.hrtime.bigint());
    session.post('Runtime.evaluate', { expression, returnByValue: true, silent: true }, (error, result) => {
      const value = (result as { result?: { value?: unknown } } | undefined)?.result?.value;
      if (error !== null || typeof value !== 'string') {
        finish(0, 0, false, ''); // iteration 0 never matches: classified stale, no stack
        return;
      }
      const answer = JSON.parse(value) as { unavailable?: boolean; iteration: number; landedHrNs: number; frames: unknown[] };
      if (answer.unavailable === true) {
        finish(iteration, 0, true, '');
        return;
      }
      // Trim frames from the bottom until the stack fits the native record.
      let frames = answer.frames;
      let json = JSON.stringify(frames);
      while (Buffer.byteLength(json) >= stackBytes && frames.length > 1) {
        frames = frames.slice(0, Math.max(1, Math.floor(frames.length * 0.75)));
        json = JSON.stringify(frames);
      }
      finish(answer.iteration, answer.landedHrNs, false, json);
    });
  } catch {
    finish(iteration, 0, true, '');
  }
}

// The first session and evaluate ever in a process costs the main thread tens of ms (the
// inspector's lazy set-up; 96 ms measured on Node 20): pay it now, at start-up, not inside
// the first stall (where it would land in the stalled iteration or the one after it).
function warmUp(): void {
  const Ctor = inspector.Session as unknown as (new () => Session) | undefined;
  if (Ctor === undefined || typeof Ctor.prototype.connectToMainThread !== 'function') return;
  try {
    const session = new Ctor();
    session.connectToMainThread();
    session.post('Runtime.evaluate', { expression: '0', silent: true }, () => session.disconnect());
  } catch {
    // captures will say what they can
  }
}

warmUp();
native.stallAttachCapture((episode, iteration, requestHrNs, workerStalls, clockNowNs, hrNowNs) => {
  // A stalled worker: its line goes out at once too (the channel's threadId is the record's).
  if (cliDir !== undefined) for (const raw of workerStalls) writeAtOnce({ ...raw, clockNowNs, hrNowNs });
  if (episode >= 0) capture(episode, iteration, requestHrNs);
});
