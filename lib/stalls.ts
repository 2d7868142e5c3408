// stalls(): which code blocked a loop, captured while it blocked (native/stall_watchdog.cc
// detects; lib/stall-capture.ts takes the main thread's stack; lib/stall-frames.ts runs in
// the main thread for it).
import * as path from 'node:path';
import { isMainThread, Worker } from 'node:worker_threads';

import type { NativeBinding, NativeStallRecord } from './binding.js';
import { perfOffsetMs } from './loop.js';
import { CAPTURE_WORKER_DATA, installCapture } from './stall-frames.js';
import type { StallFrame, StallRecord } from './types.js';
import { booleanOption, numberOption, optionsObject, signalOption } from './validate.js';

/** Options of `stalls()`. */
export interface StallsOptions {
  /** An iteration busier than this is a stall, ms. Default 50; 1 to 3600000. */
  thresholdMs?: number;
  /** Ends the stream: a pending or later `next()` rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Keep the process alive while waiting for a stall. Default false. */
  ref?: boolean;
}

/** The stream `stalls()` returns. */
export interface StallStream extends AsyncIterableIterator<StallRecord> {
  /**
   * Stall records lost so far because this consumer fell behind: the watchdog queues up to
   * 16 for each consumer, and a consumer whose loop is itself blocked (the main thread,
   * while workers stall) cannot take them. Counted, never silently gone.
   */
  readonly dropped: number;
}

const NS_TO_MS = 1e-6;

/** Turns the watchdog's record into the public one (times on the performance.now() base). */
export function toStallRecord(raw: NativeStallRecord, clockNowNs: number, hrNowNs: number, offsetMs: number): StallRecord {
  const anchorMs = (hrNowNs - clockNowNs) * NS_TO_MS + offsetMs;
  return {
    threadId: raw.threadId,
    iteration: raw.iteration,
    startMs: raw.startNs * NS_TO_MS + anchorMs,
    blockedMs: raw.blockedNs * NS_TO_MS,
    busyMs: raw.busyNs === null ? null : raw.busyNs * NS_TO_MS,
    phase: raw.phase,
    capture: raw.capture,
    stack: raw.stack === null ? null : (JSON.parse(raw.stack) as StallFrame[]),
    landedAfterMs: raw.landedAfterNs === null ? null : raw.landedAfterNs * NS_TO_MS,
    thread: raw.thread,
  };
}

/** The capture worker: one per process, started from the main thread, counted by its users. */
let captureWorker: Worker | undefined;
let captureUsers = 0;

/** Starts (first user) or keeps the capture worker. Main thread only; a no-op elsewhere. */
export function retainCapture(native: NativeBinding): void {
  if (!isMainThread) return;
  installCapture(native);
  if (captureUsers++ > 0) return;
  const worker = new Worker(path.join(__dirname, 'stall-capture.js'), {
    // Not the user's: no stdio of its own, no environment sharing beyond the default.
    stdout: false,
    stderr: false,
    name: 'uvscope-stall-capture',
    workerData: { ...CAPTURE_WORKER_DATA, mainTimeOrigin: performance.timeOrigin },
  } as ConstructorParameters<typeof Worker>[1]);
  worker.unref();
  worker.on('error', () => {
    // A capture worker that fails leaves captures 'unavailable'; it must never fail the program.
    if (captureWorker === worker) captureWorker = undefined;
  });
  captureWorker = worker;
}

/** Drops a user; the last one stops the capture worker. */
export function releaseCapture(): void {
  if (!isMainThread || captureUsers === 0) return;
  if (--captureUsers > 0) return;
  const worker = captureWorker;
  captureWorker = undefined;
  void worker?.terminate().catch(() => undefined);
}

/** Builds `stalls()` over the binding. */
export function makeStalls(native: NativeBinding) {
  const offsetMs = perfOffsetMs();
  return function stalls(options?: StallsOptions): StallStream {
    const opts = optionsObject(options);
    const thresholdMs = numberOption(opts.thresholdMs, 'options.thresholdMs', 50, { min: 1, max: 3_600_000 });
    const signal = signalOption(opts.signal, 'options.signal');
    const ref = booleanOption(opts.ref, 'options.ref', false);
    if (signal?.aborted) return ended(signal.reason);

    const ready: StallRecord[] = [];
    const waiters: { resolve: (r: IteratorResult<StallRecord>) => void; reject: (e: unknown) => void }[] = [];
    let done = false;
    let failure: { reason: unknown } | undefined;
    let dropped = 0;

    const id = native.stallSubscribe(thresholdMs * 1e6, (records, lost, clockNowNs, hrNowNs) => {
      dropped += lost;
      for (const raw of records) ready.push(toStallRecord(raw, clockNowNs, hrNowNs, offsetMs));
      while (waiters.length > 0 && ready.length > 0) waiters.shift()!.resolve({ done: false, value: ready.shift()! });
    }, ref);
    retainCapture(native);

    const finish = (): void => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      native.stallUnsubscribe(id);
      releaseCapture();
    };
    function onAbort(): void {
      failure = { reason: signal?.reason };
      finish();
      for (const waiter of waiters.splice(0)) waiter.reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const iterator: StallStream = {
      get dropped() {
        return dropped;
      },
      next() {
        if (failure !== undefined) return Promise.reject(failure.reason);
        if (ready.length > 0) return Promise.resolve({ done: false, value: ready.shift()! });
        if (done) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve, reject) => {
          waiters.push({ resolve, reject });
        });
      },
      return() {
        finish();
        for (const waiter of waiters.splice(0)) waiter.resolve({ done: true, value: undefined });
        return Promise.resolve({ done: true, value: undefined });
      },
      throw(error?: unknown) {
        void iterator.return!();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  };
}

function ended(reason: unknown): StallStream {
  const iterator: StallStream = {
    dropped: 0,
    next: () => Promise.reject(reason),
    return: () => Promise.resolve({ done: true, value: undefined }),
    throw: (error?: unknown) => Promise.reject(error),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
