// watch(): window snapshots on a fixed schedule, as an async iterator.
import { performance } from 'node:perf_hooks';

import { pullIterator } from './pull-iterator.js';
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

    return pullIterator<LoopStats>(
      {
        poll() {
          const passed = Math.floor((performance.now() - origin) / intervalMs);
          if (passed <= tick) {
            // Wait for the next grid point; a timer that fires a little early asks again.
            return { waitMs: Math.ceil(origin + (tick + 1) * intervalMs - performance.now()) };
          }
          // A grid point passed (just now, or while a slow consumer did not wait).
          tick = passed;
          previous = snapshot(previous);
          return { value: previous };
        },
        close() {},
      },
      { signal, ref },
    );
  };
}
