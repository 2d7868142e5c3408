// threads()[i].activity: what each thread is doing, told from the loop's own state and
// (Linux) the thread's kernel state. Utilization cannot tell a piscina worker parked in
// Atomics.wait from one running JavaScript: both are "active" to libuv.
import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { uvscope } from './helpers/uvscope.js';

const linux = process.platform === 'linux';

describe('threads(): activity', () => {
  it('says the calling thread is running, in an iteration', () => {
    const mine = uvscope.threads().find((t) => t.current)!;
    expect(mine.activity).toMatchObject({ state: 'running', kernel: null });
    expect(mine.activity.iteration).toBeGreaterThan(0);
  });

  it('tells parked piscina workers (blocked in futex) from a spinning worker (running) and an idle one (idle)', async () => {
    const result = await runScript(`
      const path = require('node:path');
      const { Worker } = require('node:worker_threads');
      const { Piscina } = require('piscina');
      const { threads } = require('uvscope');
      const pool = new Piscina({ filename: path.resolve('test/fixtures/pool-task.cjs'), minThreads: 2, maxThreads: 2, execArgv: ['-r', 'uvscope'] });
      const spin = new Worker("require('uvscope'); require('node:worker_threads').parentPort.once('message', () => { for (;;); });", { eval: true });
      const idle = new Worker("require('uvscope'); setInterval(() => {}, 60000);", { eval: true });
      (async () => {
        await Promise.all([pool.run({ ms: 50 }), pool.run({ ms: 50 })]);
        spin.postMessage('go');
        await new Promise((r) => setTimeout(r, 600));
        const all = threads();
        const of = (id) => { const t = all.find((x) => x.threadId === id); return { activity: t.activity, utilization: t.utilization }; };
        console.log(JSON.stringify({ parked: pool.threads.map((t) => of(t.threadId)), spin: of(spin.threadId), idle: of(idle.threadId) }));
        process.exit(0);
      })();
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.parked).toHaveLength(2);
    for (const p of r.parked) {
      // libuv counts the wait inside the callback as busy; the activity says what it is.
      expect(p.utilization).toBeGreaterThan(0.8);
      expect(p.activity.waiting).not.toBe(true);
      expect(p.activity.elapsedMs).toBeGreaterThan(400);
      if (linux) expect(p.activity).toMatchObject({ state: 'blocked', kernel: { state: 'sleeping', syscall: 'futex' } });
    }
    expect(r.spin.activity.elapsedMs).toBeGreaterThan(400);
    expect(r.spin.activity.busyMs).toBeGreaterThan(400);
    expect(r.spin.activity.state).toBe(linux ? 'running' : 'busy');
    expect(r.idle.activity.state).toBe('idle');
    expect(r.idle.activity.busyMs).toBeLessThan(50);
  });

  it("gives a worker terminated inside a long callback 'ended' with that iteration's busy time", async () => {
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      const { threads } = require('uvscope');
      const w = new Worker("require('uvscope'); require('node:worker_threads').parentPort.once('message', () => { for (;;); });", { eval: true });
      const id = w.threadId;
      w.once('online', () => setTimeout(() => {
        w.postMessage('go');
        setTimeout(() => w.terminate().then(() => {
          const t = threads().find((x) => x.threadId === id);
          console.log(JSON.stringify({ ended: t.ended, activity: t.activity, utilization: t.utilization }));
        }), 450);
      }, 100));
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.ended).toBe(true);
    expect(r.activity).toMatchObject({ state: 'ended', iteration: null, waiting: null, kernel: null });
    expect(r.activity.busyMs).toBeGreaterThanOrEqual(400);
    expect(r.utilization).toBeGreaterThan(0.5);
  });
});
