import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { uvscope } from './helpers/uvscope.js';

describe('threads(): every loop from one place', () => {
  it('lists the calling thread with its handles', () => {
    const mine = uvscope.threads().filter((t) => t.current);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.threadId).toBe(0);
    expect(mine[0]!.ended).toBe(false);
    expect(mine[0]!.handles).not.toBeNull();
  });

  it("reads a live worker's loop from the main thread, and its final numbers after it ends", async () => {
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      const { threads } = require('uvscope');
      const worker = new Worker(\`
        require('uvscope');
        const { parentPort } = require('node:worker_threads');
        setTimeout(() => {
          const end = performance.now() + 60; while (performance.now() < end);
          parentPort.postMessage('blocked');
        }, 10);
        setTimeout(() => {}, 400); // then sleep: the worker's stats must already be visible
      \`, { eval: true });
      const id = worker.threadId; // -1 once the worker has exited
      const out = {};
      worker.once('message', () => setTimeout(() => {
        const live = threads().find((t) => t.threadId === id);
        out.live = { ended: live.ended, current: live.current, handles: live.handles, timersMax: live.phases.timers.maxMs };
        worker.on('exit', () => {
          const last = threads().find((t) => t.threadId === id);
          out.after = { ended: last.ended, iterations: last.iterations, timersMax: last.phases.timers.maxMs };
          const again = threads(threads()).find((t) => t.threadId === id);
          out.windowAfterEnd = { iterations: again.iterations, windowMs: again.windowMs };
          console.log(JSON.stringify(out));
        });
      }, 50));
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.live).toMatchObject({ ended: false, current: false, handles: null });
    expect(r.live.timersMax).toBeGreaterThanOrEqual(59);
    expect(r.after.ended).toBe(true);
    expect(r.after.timersMax).toBeGreaterThanOrEqual(59);
    expect(r.after.iterations).toBeGreaterThan(0);
    // An ended loop's numbers are final: the window after its end is empty.
    expect(r.windowAfterEnd).toEqual({ iterations: 0, windowMs: 0 });
  });

  it('stays consistent while many workers come and go and the main thread reads in a tight loop', async () => {
    const result = await runScript(
      `
      const { Worker } = require('node:worker_threads');
      const { threads } = require('uvscope');
      let ended = 0, reads = 0, bad = 0, prev = threads();
      const body = "require('uvscope'); let n = 0; const t = setInterval(() => { if (++n > 5) clearInterval(t); }, 1);";
      const reader = setInterval(() => {
        for (let i = 0; i < 20; i++) {
          const now = threads(prev);
          for (const t of now) {
            if (!(t.iterations >= 0) || !(t.windowMs >= 0) || !(t.utilization >= 0 && t.utilization <= 1)) bad++;
            if (t.busy.count !== t.iterations) bad++;
          }
          prev = now;
          reads++;
        }
      }, 0);
      const total = 100;
      function start(i) {
        const w = new Worker(body, { eval: true });
        if (i % 4 === 0) setTimeout(() => w.terminate(), Math.random() * 10);
        w.on('exit', () => {
          if (++ended === total) { clearInterval(reader); console.log(JSON.stringify({ ended, reads, bad })); }
          else if (ended + 6 <= total) start(ended + 6);
        });
      }
      for (let i = 0; i < 6; i++) start(i);
    `,
      { timeoutMs: 120_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const r = JSON.parse(result.stdout);
    expect(r.ended).toBe(100);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.bad).toBe(0);
  });

  it('rejects a since that is not a threads() result', () => {
    expect(() => uvscope.threads({} as never)).toThrow(/since must be an array returned by threads\(\)/);
    expect(() => uvscope.threads([{}] as never)).toThrow(TypeError);
  });
});
