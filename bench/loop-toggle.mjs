#!/usr/bin/env node
// Loop-probe cost measured inside one process: uvscope, @datadog/native-metrics and three
// empty addon callbacks (the floor: what the loop charges any probe placed as uvscope's) are
// all loaded, and one of them runs at a time (bench/floor/floor.c stops and restarts the
// others' prepare and check handles). Every variant so shares one code layout, one heap and
// one JIT state, which separate processes (bench/loop-overhead.mjs) do not: there the
// process-to-process spread on this shared VM is +-40-70 ns, larger than what is measured.
//   node bench/loop-toggle.mjs [--processes 5] [--rounds 150] [--block 10000]
// Each round runs a block of a setImmediate chain under each variant in a shuffled order;
// "added" is the median over all rounds of (variant - none in the same round), CPU ns per
// loop iteration; the spread is the range of the per-process medians. The design's floor is
// "stamps": the same three callbacks each reading the counter uvscope's clock uses and adding
// the time since the previous stamp to a phase total (three stamps, three durations).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { buildFloor } from './floor/build.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '150' },
    block: { type: 'string', default: '10000' },
  },
});
const floorAddon = buildFloor();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const variants = ['floor', 'stamps', 'uvscope', 'datadog'];
const pooled = Object.fromEntries(variants.map((v) => [v, []]));
const perProcess = Object.fromEntries(variants.map((v) => [v, []]));
const none = [];
const counter = [];
for (let p = 0; p < Number(values.processes); p++) {
  const out = JSON.parse(
    execFileSync(process.execPath, [path.join(here, 'loop-toggle-child.cjs'), floorAddon, values.block, values.rounds], { cwd: root })
      .toString()
      .trim(),
  );
  if (out.recorded.uvscope !== out.expected || out.recorded.others !== 0) {
    throw new Error(`the toggle did not take: uvscope recorded ${out.recorded.uvscope} of ${out.expected} iterations while on, ${out.recorded.others} while off`);
  }
  none.push(median(out.cpuNs.none));
  counter.push(out.counterNs);
  for (const v of variants) {
    const diffs = out.cpuNs[v].map((x, round) => x - out.cpuNs.none[round]);
    pooled[v].push(...diffs);
    perProcess[v].push(median(diffs));
  }
}
console.log(`Node ${process.version} (libuv ${process.versions.uv}): ${values.processes} processes x ${values.rounds} rounds, ${values.block}-iteration blocks`);
console.log(`none: ${median(none).toFixed(1)} CPU ns per iteration`);
console.log('variant     added ns/iter   per-process medians');
const added = {};
for (const v of variants) {
  added[v] = median(pooled[v]);
  const spread = perProcess[v].map((x) => x.toFixed(0)).join(' ');
  console.log(`${v.padEnd(10)} ${added[v].toFixed(1).padStart(13)}   ${spread}`);
}
const clock = 3 * median(counter);
console.log(`uvscope above the empty callbacks: ${(added.uvscope - added.floor).toFixed(1)} ns; above the stamping callbacks: ${(added.uvscope - added.stamps).toFixed(1)} ns; uvscope/Datadog = ${(added.uvscope / added.datadog).toFixed(2)}`);
console.log(`one counter read ${median(counter).toFixed(1)} ns (three: ${clock.toFixed(1)} ns); the stamping callbacks cost ${(added.stamps - added.floor).toFixed(1)} ns more than the empty ones`);
