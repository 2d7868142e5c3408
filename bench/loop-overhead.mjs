#!/usr/bin/env node
// Loop-probe overhead: ns per loop iteration added by uvscope, against no uvscope, Datadog's
// @datadog/native-metrics and Node's monitorEventLoopDelay, all measured in this run.
//   node bench/loop-overhead.mjs [--iterations 2000000] [--rounds 7] [--callgrind]
// Each measurement runs in its own process; variants are interleaved round by round so
// machine noise hits them alike; the table shows medians. --callgrind adds instruction
// counts per iteration (valgrind, node --jitless), which do not depend on machine load.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'loop-overhead-child.cjs');
const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '7' },
    callgrind: { type: 'boolean', default: false },
  },
});
const variants = ['none', 'uvscope', 'uvscope+iterations', 'datadog', 'eld-10ms', 'eld-per-iteration'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const samples = Object.fromEntries(variants.map((v) => [v, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const variant of variants) {
    const out = execFileSync(process.execPath, [child, variant, values.iterations], { cwd: path.join(here, '..') }).toString().trim();
    if (out !== 'unsupported') samples[variant].push(Number(out));
  }
}

const base = median(samples.none);
console.log(`Node ${process.version}, ${values.iterations} setImmediate iterations, median of ${values.rounds} runs`);
console.log('variant               ns/iter   added ns   vs none');
for (const variant of variants) {
  if (samples[variant].length === 0) {
    console.log(`${variant.padEnd(20)}  (not available on this Node)`);
    continue;
  }
  const m = median(samples[variant]);
  console.log(`${variant.padEnd(20)} ${m.toFixed(1).padStart(8)} ${(m - base).toFixed(1).padStart(10)} ${(m / base).toFixed(3).padStart(9)}x`);
}
const added = (v) => median(samples[v]) - base;
console.log(`uvscope adds ${added('uvscope').toFixed(1)} ns/iteration; Datadog adds ${added('datadog').toFixed(1)} ns (uvscope/Datadog = ${(added('uvscope') / added('datadog')).toFixed(2)})`);

if (values.callgrind) {
  const n = 20000;
  const collect = (variant, count) => {
    const result = execFileSync('sh', ['-c', `valgrind --tool=callgrind --callgrind-out-file=/dev/null "${process.execPath}" --jitless "${child}" ${variant} ${count} 2>&1 >/dev/null | grep 'Collected'`], {
      cwd: path.join(here, '..'),
    });
    return Number(/Collected : (\d+)/.exec(result.toString())[1]);
  };
  console.log(`\ncallgrind (node --jitless): instructions per iteration, from runs of ${n} and ${2 * n} iterations`);
  const per = {};
  for (const variant of ['none', 'uvscope', 'datadog']) {
    per[variant] = (collect(variant, 2 * n) - collect(variant, n)) / n;
    console.log(`${variant.padEnd(20)} ${per[variant].toFixed(0).padStart(8)} instructions/iteration`);
  }
  console.log(`uvscope adds ${(per.uvscope - per.none).toFixed(0)} instructions/iteration; Datadog adds ${(per.datadog - per.none).toFixed(0)}`);
}
