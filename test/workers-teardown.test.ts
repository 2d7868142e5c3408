import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';

describe('worker teardown', () => {
  it('survives workers that load uvscope, call threads(), and end naturally or by terminate() at random points', async () => {
    // Runs in a child so a crash (abort on a handle left open, SIGSEGV in a close
    // callback) fails this test instead of the runner.
    const result = await runScript(
      `const { Worker } = require('node:worker_threads');
       const total = 90;
       let ended = 0;
       // Every worker reads every thread's numbers (threads()) while it runs; some do
       // nothing else, so their terminate() lands inside the native read.
       const body = "const u = require('uvscope'); const t = setInterval(() => u.threads(), 1); setTimeout(() => clearInterval(t), Math.random() * 20);";
       const spin = "const u = require('uvscope'); require('node:worker_threads').parentPort.postMessage(0); for (;;) u.threads();";
       function start(i) {
         const spinning = i % 6 === 1;
         const w = new Worker(spinning ? spin : body, { eval: true });
         // A third terminated during start-up (module init may be running), a third later.
         if (i % 3 === 0) w.terminate();
         else if (spinning) w.on('message', () => setTimeout(() => w.terminate(), Math.random() * 20));
         else if (i % 3 === 1) setTimeout(() => w.terminate(), Math.random() * 30);
         w.on('error', (e) => { console.error('worker error', e); process.exitCode = 1; });
         w.on('exit', () => { if (++ended === total) console.log('ended', ended); });
       }
       for (let i = 0; i < total; i++) setTimeout(() => start(i), i * 3);`,
      { timeoutMs: 60_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('ended 90');
  });

  it.runIf(process.platform === 'linux')('stays loaded after the last worker that loaded it ends (Node would unload it)', async () => {
    const result = await runScript(
      `const { Worker } = require('node:worker_threads');
       const fs = require('node:fs');
       const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.node')).length;
       const before = mapped();
       const w = new Worker("require('uvscope')", { eval: true });
       w.on('exit', () => setTimeout(() => console.log(JSON.stringify({ before, after: mapped() })), 50));`,
    );
    expect(result.stderr).toBe('');
    const { before, after } = JSON.parse(result.stdout) as { before: number; after: number };
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0); // the addon's mapping outlives every environment that loaded it
  });

  it('can be loaded only in a worker (no main-thread copy) and exit cleanly', async () => {
    const result = await runScript(
      `const { Worker } = require('node:worker_threads');
       let n = 0;
       for (let i = 0; i < 20; i++) {
         const w = new Worker("require('uvscope')", { eval: true });
         w.on('exit', (code) => { if (code !== 0) process.exitCode = 1; if (++n === 20) console.log('ok'); });
       }`,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('ok');
  });
});
