import { describe, expect, it } from 'vitest';

import { runNode } from './helpers/child.js';
import { root } from './helpers/uvscope.js';

describe('uvscope never changes when callbacks run', () => {
  it('prints the same callback order with and without uvscope loaded', async () => {
    const fixture = `${root}/test/fixtures/order.cjs`;
    const without = await runNode([fixture]);
    const withCjs = await runNode(['-r', 'uvscope/register', fixture]);
    const withEsm = await runNode(['--import', 'uvscope/register', fixture]);
    expect(without.stderr).toBe('');
    expect(without.stdout.split('\n').length).toBeGreaterThan(50);
    expect(withCjs.stdout).toBe(without.stdout);
    expect(withEsm.stdout).toBe(without.stdout);
  });

  it('does not change the poll timeout: a lone 200 ms timer takes one idle iteration', async () => {
    // An idle handle or a timer of uvscope's own would make the loop spin or wake early, in
    // every run. Under the full suite's load CI has seen one extra wake-up in such a window
    // (3 iterations, on Node 20 once and on Node 22 in 3 runs of 3) that an unloaded or a
    // CPU-loaded box alone never shows (2 iterations in 60 of 60 runs, Node 20 and 22); its
    // source is not yet found. So up to three runs are made: each must stay idle, and one must
    // wake at most once more than the timer needs: a spin, or a timer of uvscope's own firing
    // more often than every 100 ms, still fails it.
    // The pool probe is off here: its completions wake the loop once per probe (documented,
    // and tested with the pool), at a phase against this window that a loaded machine shifts.
    const windows: { iterations: number; idleMs: number }[] = [];
    for (let run = 0; run < 3 && !windows.some((w) => w.iterations <= 3); run++) {
      const result = await runNode([
        '-e',
        `const { loopStats, configureThreadpool } = require('uvscope');
         configureThreadpool({ probeIntervalMs: 0 });
         setTimeout(() => {
           const start = loopStats();
           setTimeout(() => console.log(JSON.stringify(loopStats(start))), 200);
         }, 10);`,
      ]);
      windows.push(JSON.parse(result.stdout));
    }
    for (const window of windows) {
      expect(window.iterations).toBeLessThanOrEqual(4);
      expect(window.idleMs).toBeGreaterThan(150);
    }
    expect(Math.min(...windows.map((w) => w.iterations))).toBeLessThanOrEqual(3);
  });

  it('keeps nothing alive: a program that only reads stats exits at once', async () => {
    const result = await runNode(['-e', `const u = require('uvscope'); u.loopStats(); u.iterations(); u.watch().next(); console.log('ok')`]);
    expect(result.stdout.trim()).toBe('ok');
    expect(result.code).toBe(0);
    expect(result.elapsedMs).toBeLessThan(5_000);
  });
});
