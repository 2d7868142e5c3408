import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';

describe('handles() in worker threads and over time', () => {
  it('each thread sees its own loop', async () => {
    const result = await runScript(`
      const net = require('node:net');
      const { Worker } = require('node:worker_threads');
      const { handles } = require('uvscope');
      const servers = (list) => list.filter((h) => h.type === 'tcp' && h.listening).map((h) => h.local.port);
      const main = net.createServer().listen(0, '127.0.0.1', () => {
        const worker = new Worker(\`
          const net = require('node:net');
          const { parentPort } = require('node:worker_threads');
          const { handles } = require('uvscope');
          const s = net.createServer().listen(0, '127.0.0.1', () => {
            const list = handles();
            parentPort.postMessage({ port: s.address().port, servers: list.filter((h) => h.type === 'tcp' && h.listening).map((h) => h.local.port) });
            s.close();
          });
        \`, { eval: true });
        worker.on('message', (m) => {
          console.log(JSON.stringify({ mainPort: main.address().port, mainSees: servers(handles()), ...m }));
          main.close();
        });
      });
    `, { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.servers).toEqual([r.port]);
    expect(r.mainSees).toEqual([r.mainPort]);
  });

  it('walking creates, keeps and leaks nothing; workers that walk exit cleanly', async () => {
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      const { handles, handleSummary, whyAlive } = require('uvscope');
      const before = handleSummary({ includeOwn: true });
      for (let i = 0; i < 2000; i++) { handles({ includeOwn: true }); handleSummary(); whyAlive(); }
      const after = handleSummary({ includeOwn: true });
      let exits = 0, codes = [];
      for (let i = 0; i < 20; i++) {
        const w = new Worker(\`
          const { handles, handleSummary, whyAlive } = require('uvscope');
          for (let i = 0; i < 200; i++) { handles(); handleSummary(); String(whyAlive()); }
        \`, { eval: true });
        w.on('exit', (code) => { codes.push(code); if (++exits === 20) console.log(JSON.stringify({ before, after, codes })); });
      }
    `, { timeoutMs: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const r = JSON.parse(result.stdout);
    expect(r.after).toEqual(r.before);
    expect(r.codes).toEqual(Array(20).fill(0));
  });
});
