#!/usr/bin/env node
// Loop-probe overhead: ns per loop iteration added by uvscope, against no uvscope, Datadog's
// @datadog/native-metrics and Node's monitorEventLoopDelay, all measured in this run.
//   node bench/loop-overhead.mjs [--iterations 2000000] [--requests 20000] [--rounds 9]
//                                [--workloads immediate,http] [--callgrind]
// Each measurement runs in its own process; variants are interleaved round by round so
// machine noise hits them alike; tables show medians. Two clocks per run: CPU time (user +
// system of the process: on a shared machine it leaves out the time other processes hold
// the CPU, so it is the steadier figure) and wall time. --callgrind adds instruction counts
// per iteration (valgrind, node --jitless), which do not depend on machine load.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const child = path.join(here, 'loop-overhead-child.cjs');
const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000000' },
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '9' },
    workloads: { type: 'string', default: 'immediate,http' },
    callgrind: { type: 'boolean', default: false },
  },
});
const variants = ['none', 'uvscope', 'uvscope+iterations', 'datadog', 'eld-10ms', 'eld-per-iteration'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const run = (variant, workload, count) =>
  JSON.parse(execFileSync(process.execPath, [child, variant, workload, String(count)], { cwd: root }).toString().trim());

console.log(`Node ${process.version} (libuv ${process.versions.uv}), median of ${values.rounds} interleaved runs per variant`);
for (const workload of values.workloads.split(',')) {
  const count = workload === 'http' ? values.requests : values.iterations;
  const samples = Object.fromEntries(variants.map((v) => [v, { cpuNs: [], wallNs: [], iterations: [] }]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const variant of variants) {
      const result = run(variant, workload, count);
      if (result.unsupported) continue;
      for (const key of ['cpuNs', 'wallNs', 'iterations']) samples[variant][key].push(result[key]);
    }
  }
  const what = workload === 'http' ? `${count} keep-alive HTTP requests over loopback (16 in flight)` : `${count}-iteration setImmediate chain`;
  const unit = workload === 'http' ? 'req' : 'iter';
  console.log(`\n${what}: ${median(samples.none.iterations).toFixed(0)} loop iterations per run`);
  console.log(`variant               cpu ns/${unit}  added   vs none   wall ns/${unit}  added   vs none`);
  const base = { cpuNs: median(samples.none.cpuNs), wallNs: median(samples.none.wallNs) };
  const added = {};
  for (const variant of variants) {
    if (samples[variant].cpuNs.length === 0) {
      console.log(`${variant.padEnd(20)}  (not available on this Node)`);
      continue;
    }
    const cells = ['cpuNs', 'wallNs'].map((key) => {
      const m = median(samples[variant][key]);
      if (key === 'cpuNs') added[variant] = m - base[key];
      return `${m.toFixed(1).padStart(11)} ${(m - base[key]).toFixed(1).padStart(7)} ${(m / base[key]).toFixed(3).padStart(8)}x`;
    });
    console.log(`${variant.padEnd(20)} ${cells.join('  ')}`);
  }
  const ratio = added.uvscope > 0 && added.datadog > 0 ? `uvscope/Datadog = ${(added.uvscope / added.datadog).toFixed(2)}` : 'within noise';
  console.log(`uvscope adds ${added.uvscope.toFixed(1)} ns/${unit} (CPU); Datadog adds ${added.datadog.toFixed(1)} ns; ${ratio}`);
}

if (values.callgrind) {
  const n = 20000;
  const collect = (variant, count) => {
    const out = execFileSync(
      'sh',
      ['-c', `valgrind --tool=callgrind --callgrind-out-file=/dev/null "${process.execPath}" --jitless "${child}" ${variant} immediate ${count} 2>&1 >/dev/null | grep 'Collected'`],
      { cwd: root },
    );
    return Number(/Collected : (\d+)/.exec(out.toString())[1]);
  };
  // The child warms up with as many iterations as it measures: the two runs differ by 2n.
  console.log(`\ncallgrind (node --jitless, setImmediate chain): instructions per iteration, from runs of ${n} and ${2 * n} iterations`);
  const per = {};
  for (const variant of ['none', 'uvscope', 'datadog']) {
    per[variant] = (collect(variant, 2 * n) - collect(variant, n)) / (2 * n);
    console.log(`${variant.padEnd(20)} ${per[variant].toFixed(0).padStart(8)} instructions/iteration`);
  }
  console.log(`uvscope adds ${(per.uvscope - per.none).toFixed(0)} instructions/iteration; Datadog adds ${(per.datadog - per.none).toFixed(0)}`);
}
