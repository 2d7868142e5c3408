import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';

describe('the loop probe in worker threads', () => {
  it('records each worker on its own loop, apart from the main thread', async () => {
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      const { loopStats, runtime } = require('uvscope');
      const start = loopStats();
      const worker = new Worker(\`
        const { parentPort } = require('node:worker_threads');
        const { loopStats, runtime } = require('uvscope');
        const start = loopStats();
        setTimeout(() => {
          const end = performance.now() + 60; while (performance.now() < end);
          setTimeout(() => parentPort.postMessage({ main: runtime().mainLoop, stats: loopStats(start) }), 5);
        }, 10);
      \`, { eval: true });
      worker.on('message', ({ main, stats }) => {
        const mine = loopStats(start);
        console.log(JSON.stringify({
          workerMain: main, mainMain: runtime().mainLoop,
          workerTimersMax: stats.phases.timers.maxMs, workerIterations: stats.iterations,
          mainBusyMax: mine.busy.maxMs,
        }));
        worker.terminate();
      });
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.workerMain).toBe(false);
    expect(r.mainMain).toBe(true);
    expect(r.workerTimersMax).toBeGreaterThanOrEqual(59);
    expect(r.workerIterations).toBeGreaterThan(0);
    expect(r.mainBusyMax).toBeLessThan(59); // the worker's block is not on the main loop
  });

  it('survives 200 workers recording and reading, started and terminated at random points', async () => {
    const result = await runScript(
      `
      const { Worker } = require('node:worker_threads');
      const { loopStats } = require('uvscope');
      const body = \`
        const { loopStats, iterations } = require('uvscope');
        const it = iterations({ ref: true });
        let s = loopStats();
        const t = setInterval(() => { s = loopStats(s); it.next(); }, 1);
        setTimeout(() => { clearInterval(t); it.return(); }, Math.random() * 40);
      \`;
      const total = 200;
      let ended = 0, reads = 0, running = 0, next = 0;
      let last = loopStats();
      const reader = setInterval(() => { last = loopStats(last); reads++; }, 1);
      function start() {
        const i = next++;
        running++;
        const w = new Worker(body, { eval: true });
        if (i % 3 === 0) w.terminate();
        else if (i % 3 === 1) setTimeout(() => w.terminate(), Math.random() * 30);
        w.on('error', (e) => { console.error('worker error', e); process.exitCode = 1; });
        w.on('exit', () => {
          running--;
          if (++ended === total) { clearInterval(reader); console.log(JSON.stringify({ ended, reads })); }
          else if (next < total) start();
        });
      }
      for (let i = 0; i < 8; i++) start();
    `,
      { timeoutMs: 120_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const r = JSON.parse(result.stdout);
    expect(r.ended).toBe(200);
    expect(r.reads).toBeGreaterThan(10);
  });
});
