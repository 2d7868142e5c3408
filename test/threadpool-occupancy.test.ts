import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';

// Each case runs in its own child process: the pool is process-wide and its size is fixed
// when it starts.
const linux = process.platform === 'linux';

async function run(source: string, env: NodeJS.ProcessEnv = {}) {
  const result = await runScript(source, { env: { UV_THREADPOOL_SIZE: undefined, ...env }, timeoutMs: 60_000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, any>;
}

// Calibrates pbkdf2 to ~200 ms on one core, lets the probe see an idle pool, then runs 8
// of them on a pool of 4 and samples while they run.
const saturate = `
  const crypto = require('node:crypto');
  const { threadpool, configureThreadpool } = require('uvscope');
  configureThreadpool({ track: true, probeIntervalMs: 10 });
  const keep = setInterval(() => {}, 5); // the probe runs while the loop iterates
  let iterations = 20000;
  const t = performance.now();
  crypto.pbkdf2Sync('p', 's', iterations, 32, 'sha256');
  iterations = Math.max(1000, Math.round((iterations * 200) / Math.max(0.1, performance.now() - t)));
  setTimeout(() => {
    const idle = threadpool();
    const base = threadpool();
    const submitted = performance.now();
    const doneMs = [];
    let during;
    for (let i = 0; i < 8; i++) {
      crypto.pbkdf2('p', 's', iterations, 32, 'sha256', () => {
        doneMs.push(performance.now() - submitted);
        if (doneMs.length === 8) setTimeout(finish, 30);
      });
    }
    setTimeout(() => (during = threadpool(base)), 80);
    function finish() {
      clearInterval(keep);
      const after = threadpool(base);
      console.log(JSON.stringify({ idle, during, after, doneMs }));
    }
  }, 400);
`;

describe('threadpool(): occupancy', () => {
  it('shows busy 4 and queued 4 while 8 pbkdf2 run on a pool of 4, and a probe wait of about one job', async () => {
    const r = await run(saturate);
    expect(r.idle.size).toBe(4);
    expect(r.idle.started).toBe(true);
    expect(r.idle.queueWait.count).toBeGreaterThan(5);
    expect(r.idle.queueWait.p50Ms).toBeLessThan(5);
    if (linux) {
      expect(r.idle.busy).toBe(0);
      expect(r.idle.busySource).toBe('threads');
      expect(r.idle.threads).toHaveLength(4);
    }
    expect(r.idle.queued).toBe(0);

    expect(r.during.busy).toBe(4);
    expect(r.during.queued).toBe(4);
    expect(r.during.inFlight).toEqual({ total: 8, fs: 0, dns: 0, crypto: 8 });
    if (linux) {
      expect(r.during.busySource).toBe('threads');
      expect(r.during.threads.every((t: { busy: boolean }) => t.busy)).toBe(true);
      // Each thread computes: it has had CPU in the window.
      for (const t of r.during.threads) expect(t.utilization).toBeGreaterThan(0.05);
    }
    expect(r.during.pendingWaitMs).toBeGreaterThan(20); // the probe is queued behind them

    // The first four end after one job's duration; the probe, submitted while they ran,
    // waits for a thread: at least most of one job, and it has a thread no later than the
    // last job ends (on 2 shared cores the jobs time-share, so "two jobs" can stretch).
    const firstBatchMs = [...r.doneMs].sort((a, b) => a - b)[0];
    expect(r.after.queueWait.maxMs).toBeGreaterThan(0.6 * firstBatchMs);
    expect(r.after.queueWait.maxMs).toBeLessThan(Math.max(...r.doneMs) + 50);
    expect(r.after.busy === null || r.after.busy === 0).toBe(true);
    expect(r.after.inFlight.total).toBe(0);
    expect(r.after.queued).toBe(0);
  });

  it.each([2, 16])('reports UV_THREADPOOL_SIZE=%i', async (size) => {
    const r = await run(
      `
      const { threadpool, configureThreadpool } = require('uvscope');
      configureThreadpool({ probeIntervalMs: 5 });
      const before = threadpool();
      const keep = setInterval(() => {}, 2);
      // Read as a monitor would, every 20 ms: idle pool threads are told apart once two are
      // seen waiting on one condition variable, which one read at a random instant on a
      // loaded box can miss (a thread just woken by the probe), and then busy is unknown.
      const read = setInterval(threadpool, 20);
      // The probe goes out every 5 ms here: one read can land while it is on a pool thread
      // (busy 1, truly), so the idle pool must read 0 in one of five reads 3 ms apart.
      setTimeout(async () => {
        clearInterval(keep); clearInterval(read);
        const reads = [];
        for (let i = 0; i < 5; i++) { reads.push(threadpool()); await new Promise((r) => setTimeout(r, 3)); }
        console.log(JSON.stringify({ before, after: reads.find((r) => r.busy === 0) ?? reads.at(-1) }));
      }, 600);
    `,
      { UV_THREADPOOL_SIZE: String(size) },
    );
    expect(r.before.started).toBe(false); // loading uvscope does not start the pool
    expect(r.before.size).toBe(size);
    expect(r.after.started).toBe(true);
    expect(r.after.size).toBe(size);
    if (linux) {
      expect(r.after.threads).toHaveLength(size);
      expect(r.after.busySource).toBe('threads');
      expect(r.after.busy).toBe(0);
    }
  });

  it("leaves the pool's start-up out of the queue wait: the probe that started 128 threads is not counted", async () => {
    // libuv creates every pool thread inside the first uv_queue_work and waits for them:
    // the first probe's wait is 128 thread creations, which no later probe waits for.
    const r = await run(
      `
      const { threadpool, configureThreadpool } = require('uvscope');
      configureThreadpool({ probeIntervalMs: 20 });
      const keep = setInterval(() => {}, 1);
      const out = {};
      const poll = setInterval(() => {
        const t = threadpool();
        if (out.atStart === undefined && t.started) out.atStart = t.queueWait.count;
        if (out.atStart !== undefined && t.queueWait.count >= 3) {
          out.later = t.queueWait.count;
          clearInterval(poll);
          clearInterval(keep);
          console.log(JSON.stringify(out));
        }
      }, 1);
    `,
      { UV_THREADPOOL_SIZE: '128' },
    );
    // When the pool is seen started, the probe that started it has completed, uncounted;
    // the later ones are counted (the test reads each of them).
    expect(r.atStart).toBe(0);
    expect(r.later).toBeGreaterThanOrEqual(3);
  });

  it.runIf(process.platform === 'linux')('counts finished requests whose callbacks wait for a blocked loop as in flight, not queued', async () => {
    // Four fs.stat calls finish on the pool in microseconds; their callbacks wait while this
    // loop spins. Every thread is idle then: nothing waits for a thread.
    const r = await run(`
      const fs = require('node:fs');
      const { threadpool, configureThreadpool } = require('uvscope');
      configureThreadpool({ track: true, probeIntervalMs: 10 });
      const keep = setInterval(() => {}, 5);
      fs.stat(__filename, () => setTimeout(() => { // the probes have found every pool thread by then
        clearInterval(keep);
        for (let i = 0; i < 4; i++) fs.stat(__filename, () => {});
        const end = performance.now() + 150;
        while (performance.now() < end);
        const t = threadpool();
        console.log(JSON.stringify({ busy: t.busy, busySource: t.busySource, queued: t.queued, inFlight: t.inFlight.total }));
      }, 600));
    `);
    expect(r).toEqual({ busy: 0, busySource: 'threads', queued: 0, inFlight: 4 });
  });

  it('clamps UV_THREADPOOL_SIZE the way libuv does', async () => {
    const r = await run(
      `
      const { threadpool } = require('uvscope');
      require('node:fs').stat(__filename, () => setTimeout(() => console.log(JSON.stringify(threadpool())), 300));
      const keep = setInterval(() => {}, 5);
      setTimeout(() => clearInterval(keep), 400);
    `,
      { UV_THREADPOOL_SIZE: '0' },
    );
    expect(r.size).toBe(1);
    if (linux) expect(r.threads).toHaveLength(1);
  });

  it('counts fs, dns and crypto requests in flight by type, and not synchronous crypto', async () => {
    const r = await run(`
      const fs = require('node:fs');
      const dns = require('node:dns');
      const crypto = require('node:crypto');
      const { threadpool, configureThreadpool } = require('uvscope');
      configureThreadpool({ track: true });
      let pending = 0;
      const done = () => { if (--pending === 0) setTimeout(end, 10); };
      for (let i = 0; i < 20; i++) { pending++; fs.stat(__filename, done); }
      for (let i = 0; i < 5; i++) { pending++; fs.promises.stat('/').then(done); }
      for (let i = 0; i < 3; i++) { pending++; dns.lookup('localhost', done); }
      for (let i = 0; i < 2; i++) { pending++; crypto.randomBytes(16, done); }
      crypto.pbkdf2Sync('p', 's', 10, 16, 'sha256');
      crypto.randomFillSync(Buffer.alloc(8));
      let now;
      queueMicrotask(() => { now = threadpool().inFlight; });
      function end() {
        const after = threadpool();
        configureThreadpool({ track: false });
        console.log(JSON.stringify({ now, after: after.inFlight, off: threadpool().inFlight }));
      }
    `);
    expect(r.now).toEqual({ total: 30, fs: 25, dns: 3, crypto: 2 });
    expect(r.after).toEqual({ total: 0, fs: 0, dns: 0, crypto: 0 });
    expect(r.off).toBeNull();
  });

  it('gives every thread the same process-wide numbers, worker requests included', async () => {
    const r = await run(`
      const { Worker } = require('node:worker_threads');
      const crypto = require('node:crypto');
      const { threadpool, configureThreadpool } = require('uvscope');
      configureThreadpool({ track: true, probeIntervalMs: 10 });
      const keep = setInterval(() => {}, 5);
      // Each pbkdf2 calibrated to ~3 s of one core, so all four are still running when both
      // threads read, even when starting the worker is slow (a sanitizer build, a loaded box).
      let iterations = 20000;
      const t = performance.now();
      crypto.pbkdf2Sync('p', 's', iterations, 32, 'sha256');
      iterations = Math.round((iterations * 3000) / Math.max(0.1, performance.now() - t));
      let finished = 0;
      setTimeout(() => {
        for (let i = 0; i < 4; i++) crypto.pbkdf2('p', 's', iterations, 32, 'sha256', () => finished++);
        const w = new Worker(\`
          const { parentPort } = require('node:worker_threads');
          const { threadpool, configureThreadpool } = require('uvscope');
          configureThreadpool({ track: true });
          for (let i = 0; i < 3; i++) require('node:fs').stat(__filename ?? '/', () => {});
          setTimeout(() => parentPort.postMessage(threadpool()), 100);
        \`, { eval: true });
        w.once('message', (inWorker) => {
          const inMain = threadpool();
          clearInterval(keep);
          console.log(JSON.stringify({ inWorker, inMain, finished }));
          w.terminate();
          process.exit(0);
        });
      }, 300);
    `);
    expect(r.finished, 'a pbkdf2 ended before the reads: the calibration did not hold').toBe(0);
    expect(r.inWorker.size).toBe(4);
    expect(r.inWorker.busy).toBe(4);
    expect(r.inMain.busy).toBe(4);
    // Main's 4 pbkdf2 and the worker's 3 stats (queued behind them), from either side.
    expect(r.inWorker.inFlight).toEqual({ total: 7, fs: 3, dns: 0, crypto: 4 });
    expect(r.inMain.inFlight.total).toBeGreaterThanOrEqual(7);
    expect(r.inWorker.queued).toBe(3);
  });
});
