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
    const detail = JSON.stringify({ none, filtered, all });
    // The program's own: the window opens inside a timer callback and closes in the next
    // (2 or 3 iterations: a timer can fire a millisecond early and re-arm; more on a loaded
    // machine). With a 100 ms polling timer a waiting stream added 10 a second.
    expect(none.iterations, detail).toBeLessThanOrEqual(6);
    // Nothing passes a filtered stream's threshold: the loop runs as without it.
    expect(filtered.iterations, detail).toBeLessThanOrEqual(none.iterations + 2);
    // An unfiltered stream gets every iteration; each of the program's is handed over in one
    // more iteration that does not wait (no wake-up), whose own record waits for the next.
    expect(all.received, detail).toBeGreaterThan(0);
    expect(all.waited, detail).toBeLessThanOrEqual(none.iterations);
    expect(all.iterations, detail).toBeLessThanOrEqual(2 * Math.max(none.iterations, 3) + 2);
  });

  it('hands a record over promptly: in the next iteration, before that one waits at all', async () => {
    const result = await runScript(`
      const { iterations, threads } = require('uvscope');
      const spin = (ms) => { const e = performance.now() + ms; while (performance.now() < e); };
      const stream = iterations({ minBusyMs: 20, ref: true }); // alive until the consumer breaks
      const seen = [];
      (async () => {
        for await (const r of stream) {
          const now = threads().find((t) => t.current).activity;
          seen.push({ index: r.index, now: now.iteration, waitedMs: now.elapsedMs - now.busyMs });
          if (seen.length === 6) break;
        }
        console.log(JSON.stringify(seen));
      })();
      // Six slow iterations at uneven times, none of them near a grid a timer could share.
      let n = 0;
      const next = () => setTimeout(() => { spin(25); if (++n < 6) next(); }, 70 + 37 * n);
      next();
    `);
    expect(result.stderr).toBe('');
    const seen = JSON.parse(result.stdout) as { index: number; now: number; waitedMs: number }[];
    expect(seen).toHaveLength(6);
    const handOffs = new Set<number>();
    for (const { index, now, waitedMs } of seen) {
      // A hand-off iteration slow enough to pass the filter itself (the consumer's first
      // steps, a loaded machine) never wakes the consumer: it comes with the next record.
      if (!handOffs.has(index)) expect(now, JSON.stringify(seen)).toBe(index + 1);
      handOffs.add(now);
      // The iteration that hands it over has not waited for events before doing so (a timer
      // polling the ring would have slept in it until it fired). Load-independent: being
      // descheduled counts as busy, not as the loop's wait.
      expect(waitedMs).toBeLessThan(1);
    }
  });
});

describe('iterations() on a busy loop', () => {
  it('hands records to a greedy consumer about once a millisecond, not every iteration, and loses none', async () => {
    const result = await runScript(`
      const { createHook } = require('node:async_hooks');
      // The hand-off runs as its own async resource: count its callbacks exactly.
      let handOffId = -1, handOffs = 0;
      createHook({
        init(id, type) { if (type === 'uvscope.iterations') handOffId = id; },
        before(id) { if (id === handOffId) handOffs++; },
      }).enable();
      const { iterations, loopStats } = require('uvscope');
      const stream = iterations({ ref: true });
      const starts = [];
      (async () => { for await (const r of stream) starts.push(r.startMs); })();
      setTimeout(() => {
        const from = loopStats();
        const startHandOffs = handOffs, t0 = performance.now();
        const step = () => {
          if (performance.now() - t0 < 300) return setImmediate(step);
          const window = loopStats(from);
          const result = {
            found: handOffId > 0,
            ms: performance.now() - t0,
            iterations: window.iterations,
            handOffs: handOffs - startHandOffs,
          };
          // Once the loop goes idle, the last records of the window are handed over too.
          setTimeout(() => {
            result.received = starts.filter((t) => t >= from.timestamp && t < window.timestamp).length;
            result.dropped = stream.dropped;
            console.log(JSON.stringify(result));
            process.exit(0);
          }, 100);
        };
        setImmediate(step);
      }, 50);
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout) as { found: boolean; ms: number; iterations: number; handOffs: number; received: number; dropped: number };
    const detail = JSON.stringify(r);
    expect(r.found, detail).toBe(true);
    expect(r.iterations, detail).toBeGreaterThan(100); // ~40k on a quiet machine; a few hundred seen under heavy load
    // A busy loop never sleeps: the hand-off waits up to 1 ms for more records (every
    // second iteration would cost a JavaScript call each, and slow the loop 2-3x).
    expect(r.handOffs, detail).toBeGreaterThan(0);
    expect(r.handOffs, detail).toBeLessThanOrEqual(r.ms * 1.2 + 10);
    expect(r.handOffs, detail).toBeLessThan(r.iterations / 5);
    // Every record of the window reached the consumer (the window's first and last
    // iterations straddle its edges).
    expect(r.received, detail).toBeGreaterThanOrEqual(r.iterations - 2);
    expect(r.dropped, detail).toBe(0);
  });
});

describe('iterations() streams dropped without return()', () => {
  it('stop the native ring once collected: plain, with a live signal, and with a next() that was still waiting', async () => {
    const result = await runScript(
      `
      const { iterations } = require('uvscope');
      const native = require('./dist/binding.js').binding();
      const { ringSize, slotSize } = native.loopLayout;
      const out = new Float64Array(ringSize * slotSize);
      const spin = (ms) => { const e = performance.now() + ms; while (performance.now() < e); };
      const turn = (n, ms) => new Promise((resolve) => {
        const step = () => { spin(ms); --n > 0 ? setImmediate(step) : resolve(); };
        setImmediate(step);
      });
      // Records the native ring takes over n iterations each at least ms busy (all of them
      // while it records at a threshold below ms).
      const recorded = async (n = 50, ms = 0) => {
        const [, cursor] = native.loopReadIterations(0, out);
        await turn(n, ms);
        return native.loopReadIterations(cursor, out)[0];
      };
      const collect = async () => {
        for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
      };
      const alive = setInterval(() => {}, 1000); // the streams are unref'd
      (async () => {
        const seen = {};
        let plain = iterations();
        await plain.next();
        seen.open = await recorded();
        plain = null;
        await collect();
        seen.plain = await recorded();

        const controller = new AbortController(); // outlives the stream
        let signalled = iterations({ signal: controller.signal });
        await signalled.next();
        signalled = null;
        await collect();
        seen.signalled = await recorded();

        // A waiting next() holds its stream (a suspended for-await is reachable only so)
        // until a record is handed over; then it goes like the others.
        let waiting = iterations({ minBusyMs: 5 });
        const pending = waiting.next();
        waiting = null;
        await collect();
        setImmediate(() => spin(10));
        seen.handed = (await pending).value.busyMs >= 5;
        await collect();
        seen.waited = await recorded(10, 6);

        const again = iterations();
        seen.reopened = (await again.next()).done === false && (await recorded()) > 0;
        await again.return();
        clearInterval(alive);
        console.log(JSON.stringify(seen));
      })();
    `,
      {},
      ['--expose-gc'],
    );
    expect(result.stderr).toBe('');
    const seen = JSON.parse(result.stdout);
    expect(seen.open).toBeGreaterThanOrEqual(45); // the ring records while a stream is open
    expect(seen.plain).toBe(0);
    expect(seen.signalled).toBe(0);
    expect(seen.handed).toBe(true);
    expect(seen.waited).toBe(0);
    expect(seen.reopened).toBe(true);
  });
});
