// The async-iterator machinery shared by watch() and iterations(): values are produced only
// while a next() is waiting, so an idle consumer costs nothing.

/** What a pull iterator asks its source each time a value is wanted. */
export interface PullSource<T> {
  /** A value now, or how long to wait before asking again (ms). */
  poll(): { value: T } | { waitMs: number };
  /** Called once, when the iterator ends (return(), throw(), abort, or a failed poll). */
  close(): void;
}

/**
 * An async iterator over `source`: next() calls are answered in order, each after the one
 * before; return() and throw() end it at once (a waiting next() resolves done); aborting
 * `signal` rejects the waiting and every later next() with `signal.reason`. The wait timer
 * is unref'd unless `ref`.
 */
export function pullIterator<T>(source: PullSource<T>, options: { signal: AbortSignal | undefined; ref: boolean }) {
  const { signal, ref } = options;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const finish = (): void => {
    if (done) return;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    signal?.removeEventListener('abort', onAbort);
    source.close();
  };
  function onAbort(): void {
    const pending = waiting;
    waiting = undefined;
    finish();
    pending?.reject(signal?.reason);
  }
  signal?.addEventListener('abort', onAbort, { once: true });

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
          answer = source.poll();
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
  return iterator;
}
