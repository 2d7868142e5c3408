// watch(): window snapshots on a fixed schedule, as an async iterator.
import { performance } from 'node:perf_hooks';

import type { LoopStats } from './types.js';
import { booleanOption, numberOption, optionsObject, signalOption } from './validate.js';

/** Options of `watch()`. */
export interface WatchOptions {
  /** Length of each window, ms. Default 1000; 1 to 2147483647. */
  intervalMs?: number;
  /** Ends the iteration: a pending or later `next()` rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Keep the process alive while waiting for the next window. Default false. */
  ref?: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Builds `watch()` over a snapshot function with `loopStats(since?)` semantics.
 *
 * Windows are contiguous (each starts where the previous ended) and end on a fixed grid
 * (start + k * intervalMs), so they do not drift. Nothing runs while no `next()` is
 * waiting: a slow consumer gets one longer window covering everything since the window
 * it last received, ended at once if a grid point passed meanwhile, never a pile-up.
 */
export function makeWatch(snapshot: (since?: LoopStats) => LoopStats) {
  return function watch(options?: WatchOptions): AsyncIterableIterator<LoopStats> {
    const opts = optionsObject(options);
    const intervalMs = numberOption(opts.intervalMs, 'options.intervalMs', 1000, { min: 1, max: MAX_TIMER_MS });
    const signal = signalOption(opts.signal, 'options.signal');
    const ref = booleanOption(opts.ref, 'options.ref', false);

    let previous = snapshot();
    const origin = previous.timestamp;
    let tick = 0; // the grid point the last window ended at
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let waiting: { resolve: (r: IteratorResult<LoopStats>) => void; reject: (e: unknown) => void } | undefined;
    // next() calls are answered in order: each waits for the one before it.
    let queue: Promise<unknown> = Promise.resolve();

    const finish = (): void => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      signal?.removeEventListener('abort', onAbort);
    };
    function onAbort(): void {
      const pending = waiting;
      waiting = undefined;
      finish();
      pending?.reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    // return()/throw(): end now; a next() waiting for its window gets done.
    const stop = (): void => {
      const pending = waiting;
      waiting = undefined;
      finish();
      pending?.resolve({ done: true, value: undefined });
    };

    const take = (): LoopStats => {
      const window = snapshot(previous);
      previous = window;
      return window;
    };

    const nextWindow = (): Promise<IteratorResult<LoopStats>> => {
      if (signal?.aborted) {
        finish();
        return Promise.reject(signal.reason);
      }
      if (done) return Promise.resolve({ done: true, value: undefined });
      const now = performance.now();
      const passed = Math.floor((now - origin) / intervalMs);
      if (passed > tick) {
        // The consumer is late: a grid point passed while nobody waited.
        tick = passed;
        return Promise.resolve({ done: false, value: take() });
      }
      const next = tick + 1;
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        // Timers may fire a fraction of a millisecond early; the window still ends at `next`.
        timer = setTimeout(() => {
          timer = undefined;
          waiting = undefined;
          tick = next;
          try {
            resolve({ done: false, value: take() });
          } catch (error) {
            finish();
            reject(error);
          }
        }, Math.max(1, Math.ceil(origin + next * intervalMs - now)));
        if (!ref) timer.unref();
      });
    };

    const iterator: AsyncIterableIterator<LoopStats> = {
      next() {
        const result = queue.then(nextWindow, nextWindow);
        queue = result.catch(() => undefined);
        return result;
      },
      return() {
        stop();
        return Promise.resolve({ done: true, value: undefined });
      },
      throw(error?: unknown) {
        stop();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  };
}
