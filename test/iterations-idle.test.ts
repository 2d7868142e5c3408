import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';

// An idle program that keeps itself alive for ~1.3 s; `setup` opens (or not) streams with a
// consumer waiting on each. Prints the loop iterations of a 1 s window in the middle, and of
// the records the consumers received, those inside the window that waited in the kernel
// (wake-ups: an iteration that does not wait is no wake-up).
const idleProgram = (setup: string): string => `
  const { iterations, loopStats } = require('uvscope');
  const got = [];
  ${setup}
  setTimeout(() => {
    const from = loopStats();
    setTimeout(() => {
      const window = loopStats(from);
      const inWindow = got.filter((r) => r.startMs >= from.timestamp);
      console.log(JSON.stringify({
        iterations: window.iterations,
        received: got.length,
        waited: inWindow.filter((r) => r.pollWaitMs > 1).length,
      }));
      process.exit(0);
    }, 1000);
  }, 300);
`;

interface IdleResult {
  iterations: number;
  received: number;
  waited: number;
}

describe('iterations() on an idle loop', () => {
  it('adds no wake-ups: streams with waiting consumers cost an idle process no wake-ups, a filtered one no iterations', async () => {
    const runs = await Promise.all(
      [
        '',
        `const slow = iterations({ minBusyMs: 5 });
         (async () => { for await (const r of slow) got.push(r); })();`,
        `const all = iterations();
         (async () => { for await (const r of all) got.push(r); })();
         const slow = iterations({ minBusyMs: 5 });
         (async () => { for await (const r of slow) got.push(r); })();`,
      ].map((setup) => runScript(idleProgram(setup))),
    );
    for (const run of runs) expect(run.stderr).toBe('');
    const [none, filtered, all] = runs.map((run) => JSON.parse(run.stdout) as IdleResult);
    // The program's own: the window opens inside a timer callback and closes in the next
    // (1 to 3 iterations: a timer can fire a millisecond early and re-arm).
    expect(none.iterations).toBeLessThanOrEqual(4);
    // Nothing passes a filtered stream's threshold: the loop runs exactly as without it.
    expect(filtered.iterations).toBeLessThanOrEqual(none.iterations + 1);
    // An unfiltered stream gets every iteration; each of the program's is handed over in one
    // more iteration that does not wait (no wake-up), whose own record waits for the next.
    expect(all.received).toBeGreaterThan(0);
    expect(all.waited).toBeLessThanOrEqual(none.iterations);
    expect(all.iterations).toBeLessThanOrEqual(2 * none.iterations + 1);
  });

  it('hands a record over promptly, in the iteration after the one it describes', async () => {
    const result = await runScript(`
      const { iterations } = require('uvscope');
      const spin = (ms) => { const e = performance.now() + ms; while (performance.now() < e); };
      const stream = iterations({ minBusyMs: 20, ref: true }); // alive until the consumer breaks
      const latencies = [];
      (async () => {
        for await (const r of stream) {
          latencies.push(performance.now() - (r.startMs + r.durationMs));
          if (latencies.length === 6) break;
        }
        console.log(JSON.stringify(latencies));
      })();
      // Six slow iterations at uneven times, none of them near a grid a timer could share.
      let n = 0;
      const next = () => setTimeout(() => { spin(25); if (++n < 6) next(); }, 70 + 37 * n);
      next();
    `);
    expect(result.stderr).toBe('');
    const latencies = JSON.parse(result.stdout) as number[];
    expect(latencies).toHaveLength(6);
    // Handed over in the next iteration, which does not wait: well under a millisecond when
    // the machine is quiet; the bound leaves room for a loaded 2-core box.
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...latencies)).toBeLessThan(40);
  });
});
