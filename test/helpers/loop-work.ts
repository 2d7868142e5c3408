// Loop activity for the bridge tests: iterations with busy time in timers, check and poll,
// and a started thread pool whose threads uvscope has found.
import { expect } from 'vitest';

import { uvscope } from './uvscope.js';

export const spin = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

// The pool thread counts are exported once busy/idle are known: the pool has started and
// its threads have been found (they start on the first work item).
export const poolKnown = async () => {
  for (let i = 0; i < 200 && uvscope.threadpool().busy === null; i++) await new Promise((r) => setTimeout(r, 10));
  expect(uvscope.threadpool().busy).not.toBeNull();
};

export const work = async () => {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 2));
    spin(1);
    await new Promise((r) => setImmediate(r));
  }
};
