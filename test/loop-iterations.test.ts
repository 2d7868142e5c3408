import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { uvscope } from './helpers/uvscope.js';

describe('iterations()', () => {
  it('keeps only iterations at least minBusyMs busy, for each reader its own threshold', async () => {
    const result = await runScript(`
      const { iterations } = require('uvscope');
      const all = iterations({ ref: true });
      const slow = iterations({ minBusyMs: 15, ref: true });
      const spin = (ms) => { const e = performance.now() + ms; while (performance.now() < e); };
      let n = 0;
      const t = setInterval(() => spin(n++ % 2 ? 20 : 2), 5);
      setTimeout(async () => {
        clearInterval(t);
        const stoppedAt = performance.now();
        const got = { all: [], slow: [] };
        // Reads what was recorded while spinning: stops at the first record that starts
        // after it (the unfiltered reader never runs dry) or after 300 ms of silence.
        const drain = async (stream, into) => {
          for (;;) {
            const r = await Promise.race([stream.next(), new Promise((r) => setTimeout(() => r(null), 300))]);
            if (r === null || r.value.startMs > stoppedAt) break;
            into.push(r.value.busyMs);
          }
          await stream.return();
        };
        await drain(slow, got.slow);
        await drain(all, got.all);
        console.log(JSON.stringify({ spins: n, ...got }));
      }, 400);
    `);
    expect(result.stderr).toBe('');
    const { spins, all, slow } = JSON.parse(result.stdout) as { spins: number; all: number[]; slow: number[] };
    const long = Math.floor(spins / 2);
    expect(slow.every((b) => b >= 15)).toBe(true);
    expect(slow.length).toBeGreaterThanOrEqual(long - 1);
    expect(slow.length).toBeLessThanOrEqual(spins);
    expect(all.length).toBeGreaterThan(slow.length);
    expect(all.some((b) => b < 15)).toBe(true);
  });

  it('loses records, never memory, when the consumer falls behind: gaps in index and a dropped count', async () => {
    const result = await runScript(`
      const { iterations } = require('uvscope');
      const stream = iterations({ ref: true });
      // Two phases of 120k unread iterations: warm-up growth lands in the first; a backlog
      // kept anywhere (native or JS, ~150 bytes a record) would grow the second by ~18 MB.
      let n = 0, rss1 = 0;
      const PHASE = 120000;
      const chain = () => {
        n++;
        if (n === PHASE) rss1 = process.memoryUsage().rss;
        if (n < 2 * PHASE) setImmediate(chain); else setImmediate(read);
      };
      async function read() {
        const grew = process.memoryUsage().rss - rss1;
        const first = (await stream.next()).value;
        const second = (await stream.next()).value;
        console.log(JSON.stringify({ first: first.index, second: second.index, dropped: stream.dropped, grewMb: grew / 2 ** 20 }));
        await stream.return();
      }
      chain();
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.dropped).toBeGreaterThan(240000 - 4096 - 100);
    expect(r.first).toBeGreaterThan(r.dropped - 10); // the oldest records were overwritten
    expect(r.second).toBe(r.first + 1); // what is kept is contiguous
    expect(r.grewMb).toBeLessThan(8);
  });

  it('readNow() takes what is there synchronously, also in process.on(\'exit\'), and [] once ended', async () => {
    const result = await runScript(`
      const { iterations } = require('uvscope');
      const stream = iterations({ minBusyMs: 20 });
      const spin = (ms) => { const e = performance.now() + ms; while (performance.now() < e); };
      const out = {};
      // Armed from the loop, not the main script: a box that stalls the start-up would run a
      // timer armed there before the loop's first iteration, outside any record. The read is
      // armed after the spin, so it runs in a later iteration, after the spin's has ended.
      setImmediate(() => setTimeout(() => { spin(30); setTimeout(read, 50); }, 10));
      const read = () => {
        out.first = stream.readNow().map((r) => Math.round(r.busyMs));
        out.again = stream.readNow().length; // taken out: nothing twice
        // One more iteration completes the 40 ms one: the timer is armed after the spin, so it
        // cannot already be due when that iteration ends (libuv runs timers at its end).
        setImmediate(() => {
          spin(40);
          setTimeout(() => {}, 20);
        });
      };
      process.on('exit', () => {
        out.atExit = stream.readNow().map((r) => Math.round(r.busyMs));
        void stream.return();
        out.ended = stream.readNow().length;
        process.stderr.write(JSON.stringify(out));
      });
    `);
    const out = JSON.parse(result.stderr);
    expect(out.first).toHaveLength(1);
    expect(out.first[0]).toBeGreaterThanOrEqual(30);
    expect(out.again).toBe(0);
    expect(out.atExit).toHaveLength(1);
    expect(out.atExit[0]).toBeGreaterThanOrEqual(40);
    expect(out.ended).toBe(0);
  });

  it('validates its options, naming them', () => {
    expect(() => uvscope.iterations({ minBusyMs: -1 })).toThrow(RangeError);
    expect(() => uvscope.iterations({ minBusyMs: '1' as never })).toThrow(/options\.minBusyMs must be a number/);
    expect(() => uvscope.iterations({ pollIntervalMs: 0 })).toThrow(/options\.pollIntervalMs must be >= 1/);
    expect(() => uvscope.iterations({ signal: 'x' as never })).toThrow(/options\.signal must be an AbortSignal/);
  });

  it('ends on abort with the signal reason and on return()', async () => {
    const controller = new AbortController();
    const stream = uvscope.iterations({ signal: controller.signal, minBusyMs: 86_400_000 });
    const pending = stream.next();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const other = uvscope.iterations();
    await other.return!();
    await expect(other.next()).resolves.toEqual({ done: true, value: undefined });
  });
});
