// Reads must not allocate per-call buffers: snapshots keep their histogram images for any
// later `since`, and a dense copy per image (2,400 doubles, 5 per loop read and 3 per pool
// read, plus one per window) made a long observed run's RSS climb tens of MB above the
// program's own (glibc keeps the freed chunks).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { describe, expect, it } from 'vitest';

import { uvscope } from './helpers/uvscope.js';

const { loopStats, threads } = uvscope;

// A full collection before each measurement, so garbage from earlier tests freed meanwhile
// cannot hide what the measured calls retain.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** ArrayBuffer bytes held after `n` calls of `read` whose results are all kept alive. */
function arrayBufferBytesPerCall(n: number, read: (previous: unknown) => unknown): number {
  const kept: unknown[] = [read(undefined)];
  gc();
  // Keeping every result means nothing a call allocated can be freed meanwhile, whatever
  // the GC does: growth / n is at least what one call retains.
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < n; i++) kept.push(read(kept.at(-1)));
  const grown = process.memoryUsage().arrayBuffers - before;
  expect(kept.length).toBe(n + 1);
  return grown / n;
}

describe('memory per read', () => {
  it('loopStats(since) keeps no ArrayBuffer per snapshot', () => {
    // Warm up: the reused read buffers and window scratch exist after the first calls.
    let s = loopStats();
    for (let i = 0; i < 5; i++) s = loopStats(s);
    const perCall = arrayBufferBytesPerCall(200, (p) => (p === undefined ? loopStats() : loopStats(p as ReturnType<typeof loopStats>)));
    // Dense images cost ~150 KB per snapshot; a sparse one holds no ArrayBuffer at all.
    expect(perCall).toBeLessThan(2048);
  });

  it('threads(since) keeps no ArrayBuffer per snapshot', () => {
    let t = threads();
    for (let i = 0; i < 5; i++) t = threads(t);
    const perCall = arrayBufferBytesPerCall(200, (p) => (p === undefined ? threads() : threads(p as ReturnType<typeof threads>)));
    expect(perCall).toBeLessThan(2048);
  });

  it('a kept snapshot stays small on the JS heap too', () => {
    let s = loopStats();
    for (let i = 0; i < 5; i++) s = loopStats(s);
    gc();
    const kept: unknown[] = [];
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) kept.push((s = loopStats(s)));
    const perSnapshot = (process.memoryUsage().heapUsed - before) / kept.length;
    // Tens of non-empty buckets per image, not the layout's 2,400: a few KB in all.
    expect(perSnapshot).toBeLessThan(64 * 1024);
  });
});
