#!/usr/bin/env node
// Stall capture: what it costs while the process is healthy (capture on vs off, ratios in
// this run) and how fast it detects and captures each kind of block.
//   node bench/stalls.mjs [--rounds 5] [--iterations 500000] [--awaits 1000000] [--modules 2000]
// Each measurement runs in its own process; on/off interleaved round by round; medians.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '500000' },
    awaits: { type: 'string', default: '1000000' },
    modules: { type: 'string', default: '2000' },
  },
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-bench-stalls-'));
for (let i = 0; i < Number(values.modules); i++) {
  fs.writeFileSync(path.join(dir, `m${i}.js`), `exports.v = ${i}; exports.f = function f${i}(x) { return x + ${i}; };\n`);
}

// The child: loads uvscope, optionally opens a stall stream (watchdog + capture worker),
// waits for the worker, runs one workload and prints its wall time (ms).
const child = `
const { performance } = require('node:perf_hooks');
const u = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const [mode, workload, n, dir] = process.argv.slice(1);
const stream = mode === 'on' ? u.stalls({ thresholdMs: 50 }) : null;
setTimeout(async () => {
  const t0 = performance.now();
  let iterations = u.loopStats().iterations;
  if (workload === 'loop') {
    await new Promise((resolve) => { let i = 0; const step = () => (++i < +n ? setImmediate(step) : resolve()); step(); });
  } else if (workload === 'awaits') {
    for (let i = 0; i < +n; i++) await i;
  } else if (workload === 'require') {
    for (let i = 0; i < +n; i++) require(dir + '/m' + i + '.js');
  }
  const ms = performance.now() - t0;
  iterations = u.loopStats().iterations - iterations;
  console.log(JSON.stringify({ ms, iterations }));
  stream?.return();
}, 600);
`;
const run = (mode, workload, n) =>
  JSON.parse(execFileSync(process.execPath, ['-e', child, mode, workload, String(n), dir], { cwd: root }).toString().trim());

console.log(`Node ${process.version}, median of ${values.rounds} interleaved runs (wall ms; capture on / off)`);
const workloads = [
  ['loop', values.iterations, 'setImmediate chain'],
  ['awaits', values.awaits, 'awaits'],
  ['require', values.modules, 'require of modules'],
];
for (const [workload, n, label] of workloads) {
  const samples = { on: [], off: [], iterOn: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of ['off', 'on']) {
      const r = run(mode, workload, n);
      samples[mode].push(r.ms);
      if (mode === 'on') samples.iterOn.push(r.iterations);
    }
  }
  const on = median(samples.on);
  const off = median(samples.off);
  const extra = workload === 'loop' ? `, ${(((on - off) * 1e6) / median(samples.iterOn)).toFixed(1)} ns/iteration` : '';
  console.log(`${label} x${n}: off ${off.toFixed(1)} ms, on ${on.toFixed(1)} ms, ratio ${(on / off).toFixed(3)}${extra}`);
}

// Detection and capture latency per kind: detection = busy time when the capture was asked
// minus the threshold; capture = request to landing (landedAfterMs).
const big = path.join(dir, 'big.bin');
fs.writeFileSync(big, Buffer.alloc(200 * 1024 * 1024));
const kinds = {
  'JS loop': 'const e = Date.now() + 200; while (Date.now() < e);',
  'regex /^(a+)+$/': "/^(a+)+$/.test('a'.repeat(27) + '!');",
  'Atomics.wait': 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);',
  'readFileSync 200 MB': `require('fs').readFileSync(${JSON.stringify(big)});`,
  pbkdf2Sync: "require('crypto').pbkdf2Sync('p', 's', 300000, 32, 'sha256');",
  'JSON.parse 60 MB': "JSON.parse('[' + '1,'.repeat(30e6) + '1]');",
  "execSync('sleep 0.3')": "require('child_process').execSync('sleep 0.3');",
};
console.log('\nkind | capture | detection ms (after the 50 ms threshold) | capture ms | busy ms');
for (const [kind, code] of Object.entries(kinds)) {
  const script = `
    const u = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
    const s = u.stalls({ thresholdMs: 50, ref: true });
    function block() { ${code} }
    setTimeout(block, 700);
    (async () => { for await (const r of s) { if (r.iteration > 3) { console.log(JSON.stringify(r)); s.return(); } } })();
  `;
  const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root }).toString().trim().split('\n').pop());
  const detection = r.landedAfterMs === null ? NaN : r.blockedMs - r.landedAfterMs - 50;
  const top = r.stack?.find((f) => f.functionName === 'block') ? 'block kept' : 'block lost';
  console.log(`${kind} | ${r.capture} (${top}) | ${detection.toFixed(1)} | ${r.landedAfterMs?.toFixed(1)} | ${r.busyMs?.toFixed(0)}`);
}
const rss = execFileSync(process.execPath, ['-e', `
  const u = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
  const before = process.memoryUsage().rss;
  const s = u.stalls();
  setTimeout(() => { console.log(((process.memoryUsage().rss - before) / 1048576).toFixed(1)); s.return(); }, 1000);
`], { cwd: root }).toString().trim();
console.log(`\ncapture worker + watchdog: +${rss} MB RSS`);
fs.rmSync(dir, { recursive: true, force: true });
