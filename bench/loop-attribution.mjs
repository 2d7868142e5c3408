#!/usr/bin/env node
// Attribution error: a callback blocks ~50 ms (timed by itself with performance.now()) in
// each kind of callback; uvscope's record for that iteration must put it in the right
// phase. Prints, per scenario, how far the phase's time is from the block's own length
// (phase - block: the probe's stamps sit just outside the callback, so a small positive
// error is the phase's other work) and the largest time any other phase got.
//   node bench/loop-attribution.mjs [--runs 10]
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const fixture = path.join(root, 'test', 'fixtures', 'attribution.cjs');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });

const scenarios = [
  ['timer', 'setTimeout callback', 'timersMs'],
  ['fs', 'fs callback', 'pollMs'],
  ['socket', 'socket data callback', 'pollMs'],
  ['immediate', 'setImmediate callback', 'checkMs'],
  ['close', 'socket close callback', 'timersMs'],
];
const phases = ['pollMs', 'checkMs', 'timersMs'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`Node ${process.version}, ${values.runs} runs per scenario, ~50 ms block`);
console.log('scenario                 phase      error ms: median    max|err|   other phases max ms');
for (const [where, what, phase] of scenarios) {
  const errors = [];
  let otherMax = 0;
  for (let i = 0; i < Number(values.runs); i++) {
    const { blockedMs, record } = JSON.parse(execFileSync(process.execPath, [fixture, where], { cwd: root }).toString());
    errors.push(record[phase] - blockedMs);
    for (const other of phases) if (other !== phase) otherMax = Math.max(otherMax, record[other]);
  }
  const maxAbs = Math.max(...errors.map(Math.abs));
  console.log(
    `${what.padEnd(24)} ${phase.padEnd(10)} ${median(errors).toFixed(3).padStart(15)} ${maxAbs.toFixed(3).padStart(11)} ${otherMax.toFixed(3).padStart(16)}`,
  );
}
