import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { loadInternal } from './helpers/uvscope.js';

const { makeWatch } = loadInternal<typeof import('../lib/watch.js')>('watch.js');

type Snapshot = import('../lib/types.js').LoopStats;

// A snapshot source with loopStats(since?) semantics over wall time only: enough to
// check scheduling, which is all watch() adds.
function fakeSource() {
  const calls: number[] = [];
  const origin = performance.now();
  const snapshot = (since?: Snapshot): Snapshot => {
    const timestamp = performance.now();
    calls.push(timestamp);
    const windowMs = timestamp - (since ? since.timestamp : origin);
    return { timestamp, windowMs } as Snapshot;
  };
  return { snapshot, calls };
}

describe('watch() schedule', () => {
  it('yields contiguous windows on a fixed grid that does not drift', async () => {
    const { snapshot } = fakeSource();
    const watch = makeWatch(snapshot);
    const interval = 40;
    const windows: Snapshot[] = [];
    let origin = 0;
    for await (const w of watch({ intervalMs: interval, ref: true })) {
      if (windows.length === 0) origin = w.timestamp - w.windowMs;
      windows.push(w);
      if (windows.length === 8) break;
    }
    for (let i = 1; i < windows.length; i++) {
      // Contiguous: each window starts where the previous one ended.
      expect(windows[i]!.timestamp - windows[i]!.windowMs).toBeCloseTo(windows[i - 1]!.timestamp, 6);
    }
    // Window k ends at origin + k * interval plus timer lateness, which must not accumulate.
    const lateness = windows.map((w, k) => w.timestamp - (origin + (k + 1) * interval));
    for (const late of lateness) expect(late).toBeGreaterThanOrEqual(-1.5);
    for (const w of windows) expect(w.windowMs).toBeGreaterThan(interval / 2);
    expect(lateness.at(-1)!).toBeLessThan(interval);
  });

  it('gives a slow consumer one longer window, not a pile-up', async () => {
    const { snapshot, calls } = fakeSource();
    const watch = makeWatch(snapshot);
    const it = watch({ intervalMs: 30, ref: true });
    const first = await it.next();
    expect(first.done).toBe(false);
    const before = calls.length;
    await sleep(130); // more than four intervals without a next()
    expect(calls.length).toBe(before); // nothing ran while nobody waited
    const started = performance.now();
    const late = await it.next();
    expect(performance.now() - started).toBeLessThan(25); // answered at once, a grid point passed
    expect(late.value!.windowMs).toBeGreaterThanOrEqual(125);
    const back = await it.next(); // then back on the grid: a short window up to the next point
    expect(back.value!.windowMs).toBeLessThanOrEqual(30 + 25);
    await it.return!();
  });

  it('return() ends a pending next() and releases its timer', async () => {
    const { snapshot } = fakeSource();
    const it = makeWatch(snapshot)({ intervalMs: 10_000, ref: true });
    const pending = it.next();
    await it.return!();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('abort rejects a pending next() with the signal reason, and every later one', async () => {
    const { snapshot } = fakeSource();
    const controller = new AbortController();
    const it = makeWatch(snapshot)({ intervalMs: 10_000, signal: controller.signal });
    const pending = it.next();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(it.next()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects options of the wrong type or range, naming them', () => {
    const watch = makeWatch(fakeSource().snapshot);
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [5, TypeError, /options must be an object/],
      [{ intervalMs: '5' }, TypeError, /options\.intervalMs must be a number/],
      [{ intervalMs: 0 }, RangeError, /options\.intervalMs must be >= 1/],
      [{ intervalMs: Number.NaN }, RangeError, /options\.intervalMs must be a finite number/],
      [{ intervalMs: 2 ** 31 }, RangeError, /options\.intervalMs must be <= 2147483647/],
      [{ signal: {} }, TypeError, /options\.signal must be an AbortSignal/],
      [{ ref: 1 }, TypeError, /options\.ref must be a boolean/],
    ];
    for (const [options, kind, message] of cases) {
      expect(() => watch(options as never)).toThrow(kind);
      expect(() => watch(options as never)).toThrow(message);
    }
  });
});
