import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';

// The probe's work item is an active libuv request: it must never keep a loop alive, and
// it must never wake an idle loop.
describe('threadpool probe: loop liveness', () => {
  it('lets a plain process exit at once', async () => {
    const plain = await runScript('0');
    const loaded = await runScript(`require('uvscope').configureThreadpool({ probeIntervalMs: 1 })`);
    expect(loaded.stderr).toBe('');
    expect(loaded.code).toBe(0);
    expect(loaded.elapsedMs).toBeLessThan(plain.elapsedMs + 1000);
  });

  it('does not keep main alive while a worker saturates the pool and main is done', async () => {
    // The worker is unref'd: main's loop is done after its last timer. Its probe is then
    // queued behind the worker's long jobs; without cancelling it main would wait for them.
    const result = await runScript(
      `
      const t0 = performance.now();
      const { Worker } = require('node:worker_threads');
      const { threadpool, configureThreadpool } = require('uvscope');
      configureThreadpool({ probeIntervalMs: 1 });
      const w = new Worker(\`
        const crypto = require('node:crypto');
        for (let i = 0; i < 8; i++) crypto.pbkdf2('p', 's', 3_000_000, 32, 'sha256', () => {});
        require('node:worker_threads').parentPort.postMessage('saturated');
      \`, { eval: true });
      w.unref();
      let pendingMs = 0;
      w.once('message', () => {
        // Keep main busy for a while so its probe goes into the queue behind the jobs.
        const keep = setInterval(() => { pendingMs = Math.max(pendingMs, threadpool().pendingWaitMs); }, 5);
        setTimeout(() => clearInterval(keep), 300);
      });
      process.on('exit', () => console.log(JSON.stringify({ exitAtMs: performance.now() - t0, pendingMs })));
    `,
      { timeoutMs: 60_000 },
    );
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.pendingMs).toBeGreaterThan(50); // the probe really was stuck in the queue
    // Main's own work ends ~300 ms after the worker started; the jobs take seconds.
    expect(r.exitAtMs).toBeLessThan(1500);
  });

  it('does not wake an idle loop', async () => {
    const result = await runScript(`
      const { loopStats, configureThreadpool, threadpool } = require('uvscope');
      configureThreadpool({ probeIntervalMs: 1 });
      require('node:fs').stat(__filename, () => {}); // the pool is running
      setTimeout(() => {
        const start = loopStats();
        const probes = threadpool().queueWait.count;
        setTimeout(() => {
          const s = loopStats(start);
          console.log(JSON.stringify({ iterations: s.iterations, probes: threadpool().queueWait.count - probes }));
        }, 1000);
      }, 100);
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    // One timer in a second: a couple of iterations, plus one per probe it sent. A probe
    // that woke the loop on its 1 ms interval would show ~1000 of each; under load a
    // completion can take over 1 ms and let one more probe go out, hence a little room.
    expect(r.probes).toBeLessThanOrEqual(5);
    expect(r.iterations).toBeLessThanOrEqual(12);
  });

  it('survives workers terminated while their probe is queued behind a saturated pool', async () => {
    const result = await runScript(
      `
      const { Worker } = require('node:worker_threads');
      const crypto = require('node:crypto');
      for (let i = 0; i < 4; i++) crypto.pbkdf2('p', 's', 2_000_000, 32, 'sha256', () => {});
      const body = \`
        const { configureThreadpool, threadpool } = require('uvscope');
        configureThreadpool({ probeIntervalMs: 1, track: true });
        const t = setInterval(() => threadpool(), 1);
        require('node:fs').stat('/', () => {});
      \`;
      let ended = 0;
      for (let i = 0; i < 40; i++) {
        const w = new Worker(body, { eval: true });
        setTimeout(() => w.terminate(), 20 + (i % 10) * 10);
        w.on('error', (e) => { console.error(e); process.exitCode = 1; });
        w.on('exit', () => { if (++ended === 40) console.log(JSON.stringify({ ended })); });
      }
    `,
      { timeoutMs: 120_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).ended).toBe(40);
  });
});
