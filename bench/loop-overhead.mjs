#!/usr/bin/env node
// Loop-probe overhead: ns per loop iteration added by uvscope, against no uvscope, Datadog's
// @datadog/native-metrics and Node's monitorEventLoopDelay, all measured in this run.
//   node bench/loop-overhead.mjs [--iterations 2000000] [--requests 20000] [--rounds 9]
//                                [--workloads immediate,http] [--variants a,b] [--cachegrind]
//                                [--baseline <dir>]
// Each measurement runs in its own process; variants are interleaved round by round so
// machine noise hits them alike; tables show medians. Two clocks per run: CPU time (user +
// system of the process: on a shared machine it leaves out the time other processes hold
// the CPU, so it is the steadier figure) and wall time. "floor" is three empty callbacks in an
// addon of their own (bench/floor/floor.c), what any probe placed as uvscope's pays on this
// Node. --cachegrind adds instructions, cache misses and branch mispredictions per iteration
// (valgrind's cache and branch simulation, node --jitless), which do not depend on load.
// --baseline <dir> adds "baseline": the uvscope built in another checkout (an earlier
// commit, say), measured in the same rounds as this one.
// Separate processes differ by +-40-70 ns per iteration on a shared VM (code layout, heap,
// neighbours): bench/loop-toggle.mjs measures the same probes inside one process, steadier.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { buildFloor } from './floor/build.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const child = path.join(here, 'loop-overhead-child.cjs');
const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000000' },
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '9' },
    workloads: { type: 'string', default: 'immediate,http' },
    cachegrind: { type: 'boolean', default: false },
    variants: { type: 'string' },
    baseline: { type: 'string' },
  },
});
// The floor: three empty callbacks in an addon of their own (one prepare, two checks, as
// uvscope's probe), built by bench/floor/build.mjs.
let floorAddon = '';
let floorBuilt = false;
try {
  floorAddon = buildFloor();
  floorBuilt = true;
} catch (error) {
  console.log(`(floor not measured: building bench/floor/floor.c failed: ${String(error.stderr ?? error).trim().split('\n')[0]})`);
}
const baseline = values.baseline === undefined ? undefined : path.resolve(values.baseline);
const allVariants = ['none', ...(floorBuilt ? ['floor'] : []), ...(baseline ? ['baseline'] : []), 'uvscope', 'uvscope+iterations', 'datadog', 'eld-10ms', 'eld-per-iteration'];
// --variants none,floor,uvscope,datadog: fewer variants, so more rounds fit in the same time.
const variants = values.variants === undefined ? allVariants : allVariants.filter((v) => v === 'none' || (v === 'baseline' && baseline) || values.variants.split(',').includes(v));
const childEnv = { ...process.env, UVSCOPE_FLOOR_ADDON: floorAddon, ...(baseline ? { UVSCOPE_BASELINE: baseline } : {}) };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const run = (variant, workload, count) =>
  JSON.parse(
    execFileSync(process.execPath, [child, variant, workload, String(count)], { cwd: root, env: childEnv })
      .toString()
      .trim(),
  );

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
  if (added.uvscope !== undefined && added.datadog !== undefined) {
    const ratio = added.uvscope > 0 && added.datadog > 0 ? `uvscope/Datadog = ${(added.uvscope / added.datadog).toFixed(2)}` : 'within noise';
    console.log(`uvscope adds ${added.uvscope.toFixed(1)} ns/${unit} (CPU); Datadog adds ${added.datadog.toFixed(1)} ns; ${ratio}`);
  }
  if (added.floor !== undefined && added.uvscope !== undefined) {
    console.log(`the floor (three empty addon callbacks) is ${added.floor.toFixed(1)} ns/${unit}: uvscope's own work above it ${(added.uvscope - added.floor).toFixed(1)} ns`);
  }
}

if (values.cachegrind) {
  const n = 20000;
  const counters = { 'I refs': 'instructions', 'I1  misses': 'I1 misses', 'D1  misses': 'D1 misses', Branches: 'branches', Mispredicts: 'mispredicts' };
  // Whole-process counts move by a few hundred instructions per iteration between runs (the
  // interpreter's and GC's work is not the same twice), more than a probe costs; the
  // functions of the probe itself, and libuv's loops over the prepare and check queues that
  // call it, are counted exactly: cg_annotate per function, summed by name.
  const own = {
    floor: /^\?\?\?:(OnPrepare|OnCheck)$/,
    uvscope: /:uvscope::/,
    baseline: /:uvscope::/,
    datadog: /:datadog::/,
  };
  const libuvRunners = /:uv__run_(prepare|check)$/;
  const events = ['Ir', 'I1mr', 'D1mr', 'Bc', 'Bcm', 'Bi', 'Bim'];
  const perFunction = (file, pattern) => {
    const text = execFileSync('cg_annotate', [`--show=${events.join(',')}`, '--threshold=0', file], { maxBuffer: 1 << 28 }).toString();
    const sum = Object.fromEntries(events.map((e) => [e, 0]));
    for (const line of text.split('\n')) {
      const tokens = line.replace(/\(\s*[\d.]+%\)/g, ' ').trim().split(/\s+/);
      if (tokens.length !== events.length + 1 || !pattern.test(tokens[events.length])) continue;
      events.forEach((e, i) => (sum[e] += tokens[i] === '.' ? 0 : Number(tokens[i].replaceAll(',', ''))));
    }
    return sum;
  };
  const outFile = (variant, count) => path.join(os.tmpdir(), `uvscope-cg-${process.pid}-${variant}-${count}.out`);
  const collect = (variant, count) => {
    const file = outFile(variant, count);
    const out = execFileSync(
      'sh',
      [
        '-c',
        `valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes --cachegrind-out-file="${file}" "${process.execPath}" --jitless "${child}" ${variant} immediate ${count} 2>&1 >/dev/null`,
      ],
      { cwd: root, env: childEnv },
    ).toString();
    const totals = {};
    for (const [label, name] of Object.entries(counters)) {
      const match = new RegExp(`${label.replace(/ +/g, '\\s+')}:\\s+([\\d,]+)`).exec(out);
      totals[name] = match === null ? NaN : Number(match[1].replaceAll(',', ''));
    }
    const probe = own[variant] === undefined ? undefined : perFunction(file, own[variant]);
    const runners = perFunction(file, libuvRunners);
    fs.rmSync(file, { force: true });
    return { totals, probe, runners };
  };
  // The child warms up with as many iterations as it measures: the two runs differ by 2n.
  console.log(`\ncachegrind (node --jitless, setImmediate chain): per iteration, from runs of ${n} and ${2 * n} iterations`);
  console.log('whole process (moves by hundreds of instructions between runs):');
  console.log(`${'variant'.padEnd(12)}${Object.values(counters).map((name) => name.padStart(13)).join('')}`);
  const per = {};
  const exact = [];
  for (const variant of variants.filter((v) => ['none', 'floor', 'baseline', 'uvscope', 'datadog'].includes(v))) {
    const [small, large] = [collect(variant, n), collect(variant, 2 * n)];
    per[variant] = Object.fromEntries(Object.values(counters).map((name) => [name, (large.totals[name] - small.totals[name]) / (2 * n)]));
    console.log(`${variant.padEnd(12)}${Object.values(per[variant]).map((x) => x.toFixed(1).padStart(13)).join('')}`);
    const delta = (a, b) => Object.fromEntries(events.map((e) => [e, (b[e] - a[e]) / (2 * n)]));
    exact.push({ variant, probe: small.probe && delta(small.probe, large.probe), runners: delta(small.runners, large.runners) });
  }
  if (per.none !== undefined) {
    const added = (variant, name) => (per[variant][name] - per.none[name]).toFixed(1);
    for (const variant of Object.keys(per).filter((v) => v !== 'none')) {
      console.log(`${variant} adds ${added(variant, 'instructions')} instructions, ${added(variant, 'mispredicts')} mispredicted branches, ${added(variant, 'D1 misses')} D1 and ${added(variant, 'I1 misses')} I1 misses per iteration`);
    }
  }
  console.log("\nthe probe's own functions, and libuv's uv__run_prepare + uv__run_check that call them (exact):");
  console.log(`${'variant'.padEnd(12)}${['', ...events].map((e) => e.padStart(8)).join('')}`);
  const row = (label, values) => console.log(`${label.padEnd(20)}${events.map((e) => values[e].toFixed(1).padStart(8)).join('')}`);
  for (const { variant, probe, runners } of exact) {
    if (probe !== undefined) row(`${variant} own`, probe);
    row(`${variant} libuv`, runners);
  }
  console.log('(Ir instructions, I1mr/D1mr L1 misses, Bc/Bi conditional/indirect branches, Bcm/Bim their mispredictions;');
  console.log(" Datadog's own count leaves out the uv_hrtime/clock_gettime it calls, uvscope's reads the TSC inline)");
}
