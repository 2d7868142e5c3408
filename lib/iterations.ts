// iterations(): per-iteration records read from the native ring.
import type { NativeBinding } from './binding.js';
import { perfOffsetMs } from './loop.js';
import { pullIterator } from './pull-iterator.js';
import type { IterationRecord } from './types.js';
import { booleanOption, numberOption, optionsObject, signalOption } from './validate.js';

/** Options of `iterations()`. */
export interface IterationsOptions {
  /** Keep only iterations at least this busy, ms. Filtered natively. Default 0 (all); at most 86400000. */
  minBusyMs?: number;
  /** Ends the stream: a pending or later `next()` rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * @deprecated Ignored: records are handed over as they complete, without polling (the
   * loop thread wakes a waiting consumer). Still validated: 1 to 60000.
   */
  pollIntervalMs?: number;
  /** Keep the process alive while waiting for records. Default false. */
  ref?: boolean;
}

/** The stream `iterations()` returns. */
export interface IterationStream extends AsyncIterableIterator<IterationRecord> {
  /** Records lost so far because this consumer fell behind the native ring. */
  readonly dropped: number;
  /**
   * The records available now, read synchronously: the ones `next()` would yield before
   * waiting, taken out of the stream. For `process.on('exit')` and other places where no
   * promise settles any more; an ended stream returns `[]`.
   */
  readNow(): IterationRecord[];
}

// What the thread's shared state knows of one stream. Never refers to the stream itself: a
// stream nobody holds and nobody waits on must be collectable (see `collected`).
interface Reader {
  minBusyNs: number;
}

const NS_TO_MS = 1e-6;

export function makeIterations(native: NativeBinding) {
  const { ringSize, slotSize } = native.loopLayout;
  const offsetMs = perfOffsetMs();
  const readers = new Set<Reader>();
  // Streams with a next() waiting and nothing to yield, and how to resume each. Held
  // strongly: a `for await` suspended on a stream is reachable only from here.
  const waiters = new Map<Reader, () => void>();
  let handingOff = false;

  // The ring runs only while someone reads it, filtered at the lowest threshold asked for.
  const configure = (): number => {
    let min = Infinity;
    for (const reader of readers) min = Math.min(min, reader.minBusyNs);
    return native.loopConfigureRing(readers.size > 0, readers.size > 0 ? min : 0);
  };
  // The loop thread hands a record over (once, then disarms) when one passes the lowest
  // threshold of the streams waiting now.
  const arm = (): void => {
    let min = Infinity;
    for (const reader of waiters.keys()) min = Math.min(min, reader.minBusyNs);
    native.loopRingWait(waiters.size > 0, waiters.size > 0 ? min : 0);
  };
  native.loopRingOnWake(() => {
    const woken = [...waiters.values()];
    waiters.clear();
    handingOff = true;
    try {
      // Each pulls what the ring has for it; one whose filter nothing passed waits again.
      for (const retry of woken) retry();
    } finally {
      handingOff = false;
      arm();
    }
  });
  const release = (reader: Reader): void => {
    readers.delete(reader);
    if (waiters.delete(reader)) arm();
    configure();
  };
  // A stream dropped without return() stops the ring when it is collected.
  const collected = new FinalizationRegistry<Reader>(release);

  return function iterations(options?: IterationsOptions): IterationStream {
    const opts = optionsObject(options);
    const minBusyMs = numberOption(opts.minBusyMs, 'options.minBusyMs', 0, { min: 0, max: 86_400_000 });
    const pollIntervalMs = numberOption(opts.pollIntervalMs, 'options.pollIntervalMs', 100, { min: 1, max: 60_000 });
    const signal = signalOption(opts.signal, 'options.signal');
    const ref = booleanOption(opts.ref, 'options.ref', false);

    void pollIntervalMs; // validated for compatibility, unused
    const reader: Reader = { minBusyNs: minBusyMs / NS_TO_MS };
    readers.add(reader);
    let cursor = configure();
    let dropped = 0;
    const ready: IterationRecord[] = [];
    const scratch = new Float64Array(ringSize * slotSize);

    let closed = false;
    const pull = (): void => {
      const [count, next, lost, clockNowNs, hrNowNs] = native.loopReadIterations(cursor, scratch);
      cursor = next;
      dropped += lost;
      // Ring times are on the probe's clock; re-anchor them on uv_hrtime now.
      const anchorMs = (hrNowNs - clockNowNs) * NS_TO_MS + offsetMs;
      for (let i = 0; i < count; i++) {
        const o = i * slotSize;
        const durationNs = scratch[o + 2]!;
        const pollWaitNs = scratch[o + 3]!;
        const busyNs = Math.max(0, durationNs - pollWaitNs);
        if (busyNs < reader.minBusyNs) continue; // another reader asked for less
        const events = scratch[o + 7]!;
        ready.push({
          index: scratch[o]!,
          startMs: scratch[o + 1]! * NS_TO_MS + anchorMs,
          durationMs: durationNs * NS_TO_MS,
          busyMs: busyNs * NS_TO_MS,
          pollWaitMs: pollWaitNs * NS_TO_MS,
          pollMs: scratch[o + 4]! * NS_TO_MS,
          checkMs: scratch[o + 5]! * NS_TO_MS,
          timersMs: scratch[o + 6]! * NS_TO_MS,
          events: Number.isNaN(events) ? null : events,
        });
      }
    };

    const stream = pullIterator<IterationRecord>(
      {
        poll(retry) {
          if (ready.length === 0) pull();
          if (ready.length > 0) return { value: ready.shift()! };
          waiters.set(reader, retry);
          if (!handingOff) arm();
          return { wake: true };
        },
        close() {
          closed = true;
          ready.length = 0;
          collected.unregister(reader);
          release(reader);
        },
      },
      { signal, ref },
    ) as IterationStream;
    collected.register(stream, reader, reader);
    Object.defineProperty(stream, 'dropped', { get: () => dropped, enumerable: true });
    Object.defineProperty(stream, 'readNow', {
      value: (): IterationRecord[] => {
        void stream; // so that holding readNow alone keeps the stream (and its ring) alive
        if (closed) return [];
        pull();
        return ready.splice(0);
      },
    });
    return stream;
  };
}
