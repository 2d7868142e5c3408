// Overhead of each thread-pool method, as ratios against no uvscope, measured in one run.
//   node bench/threadpool.mjs [rounds]
// Every configuration runs in its own child process (uvscope cannot be unloaded), the
// configurations interleaved round by round; the median of the rounds is reported.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? 5);

const setups = {
  'no uvscope': '',
  'uvscope loaded (probe every 100 ms)': `require('uvscope');`,
  'probe every 1 ms': `require('uvscope').configureThreadpool({ probeIntervalMs: 1 });`,
  'tracking on (async_hooks)': `require('uvscope').configureThreadpool({ track: true });`,
  'threadpool() read every 10 ms': `{ const u = require('uvscope'); setInterval(() => u.threadpool(), 10).unref(); }`,
};

const workloads = {
  'fs-heavy (40k fs.stat, 64 in flight)': `
    const fs = require('node:fs');
    let started = 0, done = 0; const total = 40000; const t0 = performance.now();
    const next = () => { if (started < total) { started++; fs.stat(__filename, () => { done++; if (done === total) end(); else next(); }); } };
    function end() { console.log(performance.now() - t0); }
    for (let i = 0; i < 64; i++) next();`,
  'promise-heavy (2M awaits)': `
    (async () => {
      const t0 = performance.now();
      let x = 0;
      for (let i = 0; i < 2e6; i++) x += await Promise.resolve(i);
      console.log(performance.now() - t0);
    })();`,
};

function runOnce(setup, workload) {
  const r = spawnSync(process.execPath, ['-e', `${setup}\n${workload}`], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`Node ${process.version}, libuv ${process.versions.uv}, ${rounds} rounds (median)`);
for (const [wname, workload] of Object.entries(workloads)) {
  const times = Object.fromEntries(Object.keys(setups).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const [sname, setup] of Object.entries(setups)) times[sname].push(runOnce(setup, workload));
  const base = median(times['no uvscope']);
  console.log(`\n${wname}: baseline ${base.toFixed(0)} ms`);
  for (const [sname, xs] of Object.entries(times)) console.log(`  ${sname.padEnd(40)} ${(median(xs) / base).toFixed(3)}x`);
}

// The probe's own cost on a pool thread: CPU time per probe (from /proc via threads[]),
// with a spinning loop so the probe goes out every 1 ms, then as a share of one thread
// at the default interval.
const probeCost = spawnSync(
  process.execPath,
  [
    '-e',
    `
    const { threadpool, configureThreadpool } = require('uvscope');
    configureThreadpool({ probeIntervalMs: 1 });
    const spin = () => setImmediate(spin); spin();
    setTimeout(() => {
      const a = threadpool();
      setTimeout(() => {
        const b = threadpool(a);
        const cpu = (s) => (s.threads ?? []).reduce((n, t) => n + (t.cpuMs ?? 0), 0);
        const t0 = performance.now(); for (let i = 0; i < 1000; i++) threadpool(); const readUs = (performance.now() - t0);
        console.log(JSON.stringify({ probes: b.queueWait.count, cpuMs: cpu(b) - cpu(a), readUs }));
        process.exit(0);
      }, 3000);
    }, 300);`,
  ],
  { cwd: root, encoding: 'utf8' },
);
const pc = JSON.parse(probeCost.stdout);
const perProbeUs = (pc.cpuMs * 1000) / pc.probes;
console.log(`\nprobe: ${pc.probes} probes in 3 s used ${pc.cpuMs.toFixed(2)} ms of pool-thread CPU = ${perProbeUs.toFixed(1)} us each`);
console.log(`  at the default 100 ms interval: ${((perProbeUs / 100_000) * 100).toFixed(4)}% of one pool thread (bar: < 0.1%)`);
console.log(`threadpool() read: ${pc.readUs.toFixed(1)} us per call (pool of 4, Linux /proc included)`);
