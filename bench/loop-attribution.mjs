#!/usr/bin/env node
// Attribution accuracy: a ~50 ms block in a setTimeout, fs, socket-data, setImmediate and
// close callback; prints how far the phase it lands in is from the block's own measured
// length, and the most any other phase got in the same iteration.
//   node bench/loop-attribution.mjs [--runs 10]
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = path.join(root, 'test/fixtures/attribution.cjs');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const scenarios = [
  ['timer', 'timersMs'],
  ['fs', 'pollMs'],
  ['socket', 'pollMs'],
  ['immediate', 'checkMs'],
  ['close', 'timersMs'],
];

console.log(`Node ${process.version}; error = phase time - block time, over ${values.runs} runs (ms)`);
console.log('callback    phase      median     max |err|   other phases max');
for (const [where, phase] of scenarios) {
  const errors = [];
  let others = 0;
  for (let i = 0; i < Number(values.runs); i++) {
    const { blockedMs, record } = JSON.parse(execFileSync(process.execPath, [fixture, where], { cwd: root }).toString());
    errors.push(record[phase] - blockedMs);
    for (const other of ['pollMs', 'checkMs', 'timersMs']) if (other !== phase) others = Math.max(others, record[other]);
  }
  errors.sort((a, b) => a - b);
  const median = errors[Math.floor(errors.length / 2)];
  const worst = Math.max(...errors.map(Math.abs));
  console.log(`${where.padEnd(11)} ${phase.padEnd(9)} ${median.toFixed(3).padStart(8)} ${worst.toFixed(3).padStart(12)} ${others.toFixed(3).padStart(14)}`);
}
