// The async-iterator machinery shared by watch() and iterations(): values are produced only
// while a next() is waiting, so an idle consumer costs nothing.

/** What a pull iterator asks its source each time a value is wanted. */
export interface PullSource<T> {
  /**
   * A value now; how long to wait before asking again (ms); or `{ wake: true }`: ask again
   * when the source calls `retry` (a call while nothing waits does nothing). A source that
   * answers `wake` holds `retry` only until it calls it or is closed, so that an iterator
   * nobody waits on can be collected.
   */
  poll(retry: () => void): { value: T } | { waitMs: number } | { wake: true };
  /** Called once, when the iterator ends (return(), throw(), abort, or a failed poll). */
  close(): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const keepAlive = (): void => {};

// Abort listeners reach their iterator through a WeakRef, so a long-lived signal does not
// keep a dropped iterator (and what its source holds) alive. Built out here: a closure made
// inside pullIterator() would share its scope, the iterator included.
const abortHandlers = new WeakMap<object, () => void>();
function weakAbortListener(iterator: object): () => void {
  const ref = new WeakRef(iterator);
  return () => {
    const target = ref.deref();
    if (target !== undefined) abortHandlers.get(target)?.();
  };
}

/**
 * An async iterator over `source`: next() calls are answered in order, each after the one
 * before; return() and throw() end it at once (a waiting next() resolves done); aborting
 * `signal` rejects the waiting and every later next() with `signal.reason`. The wait timer
 * is unref'd unless `ref`; while waiting for a source's wake-up with `ref`, a ref'd interval
 * of 24.8 days (no wake-ups in practice) keeps the process alive.
 */
export function pullIterator<T>(source: PullSource<T>, options: { signal: AbortSignal | undefined; ref: boolean }) {
  const { signal, ref } = options;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  let woken: (() => void) | undefined; // the attempt a source's retry() resumes
  let queue: Promise<unknown> = Promise.resolve();

  const clearWait = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    woken = undefined;
  };
  const retry = (): void => {
    const resume = woken;
    clearWait();
    resume?.();
  };
  const finish = (): void => {
    if (done) return;
    done = true;
    clearWait();
    if (listener !== undefined) signal?.removeEventListener('abort', listener);
    source.close();
  };
  function onAbort(): void {
    const pending = waiting;
    waiting = undefined;
    finish();
    pending?.reject(signal?.reason);
  }

  const stop = (): void => {
    const pending = waiting;
    waiting = undefined;
    finish();
    pending?.resolve({ done: true, value: undefined });
  };

  const nextValue = (): Promise<IteratorResult<T>> => {
    if (signal?.aborted) {
      finish();
      return Promise.reject(signal.reason);
    }
    if (done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        timer = undefined;
        let answer: ReturnType<PullSource<T>['poll']>;
        try {
          answer = source.poll(retry);
        } catch (error) {
          waiting = undefined;
          finish();
          reject(error);
          return;
        }
        if ('value' in answer) {
          waiting = undefined;
          resolve({ done: false, value: answer.value });
          return;
        }
        waiting = { resolve, reject };
        if ('wake' in answer) {
          woken = attempt;
          if (ref) timer = setInterval(keepAlive, MAX_TIMER_MS);
          return;
        }
        timer = setTimeout(attempt, Math.max(1, answer.waitMs));
        if (!ref) timer.unref();
      };
      attempt();
    });
  };

  const iterator: AsyncIterableIterator<T> = {
    next() {
      const result = queue.then(nextValue, nextValue);
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
  let listener: (() => void) | undefined;
  if (signal !== undefined) {
    abortHandlers.set(iterator, onAbort);
    listener = weakAbortListener(iterator);
    signal.addEventListener('abort', listener, { once: true });
  }
  return iterator;
}
