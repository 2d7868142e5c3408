// What trackHandles() costs: handle creation (timers, TCP connections) and promise-heavy code,
// tracking off vs on, measured in one run (each variant in a fresh process, rounds alternated).
//   node bench/handle-origins.mjs [rounds]
import { spawnSync } from 'node:child_process';

const rounds = Number(process.argv[2] ?? 5);
const workloads = {
  timers: `
    const n = 200000; const t0 = performance.now();
    for (let i = 0; i < n; i++) clearTimeout(setTimeout(() => {}, 1000));
    out((performance.now() - t0) * 1e3 / n, 'us per setTimeout+clearTimeout');`,
  tcp: `
    const net = require('node:net'); const n = 3000;
    const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1', () => {
      let i = 0; const t0 = performance.now();
      const next = () => {
        if (i++ === n) { out((performance.now() - t0) * 1e3 / n, 'us per connection (both ends)'); server.close(); return; }
        const c = net.connect(server.address().port, '127.0.0.1'); c.on('close', next); c.resume();
      };
      next();
    });`,
  awaits: `
    const n = 1000000;
    (async () => { const t0 = performance.now(); for (let i = 0; i < n; i++) await null; out((performance.now() - t0) * 1e3 / n, 'us per await'); })();`,
};

const run = (source, track) => {
  const prelude = `const u = require(${JSON.stringify(new URL('..', import.meta.url).pathname)}); ${track ? 'u.trackHandles();' : ''}
    const out = (v) => process.stdout.write(String(v));`;
  const r = spawnSync(process.execPath, ['-e', prelude + source], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout);
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Node ${process.version}, ${rounds} rounds, median`);
for (const [name, source] of Object.entries(workloads)) {
  const off = [], on = [];
  for (let i = 0; i < rounds; i++) {
    off.push(run(source, false));
    on.push(run(source, true));
  }
  const a = median(off), b = median(on);
  console.log(`${name.padEnd(7)} off ${a.toFixed(3)} us  on ${b.toFixed(3)} us  ratio ${(b / a).toFixed(2)}x  (+${(b - a).toFixed(2)} us)`);
}
