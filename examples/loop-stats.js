// What the loop did, phase by phase: three one-second windows of a program that mixes
// I/O, setImmediate work, timers and one slow callback, then the slow iterations themselves.
//   node examples/loop-stats.js
const fs = require('node:fs');
const { loopStats, iterations, runtime } = require('uvscope');

const { loopClock, pollWaitSource } = runtime();
const spin = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

// Some work: file reads (poll), immediates (check), timers, and a 30 ms stall every second.
const work = setInterval(() => {
  fs.readFile(__filename, () => spin(2));
  setImmediate(() => spin(1));
}, 20);
const stall = setInterval(() => spin(30), 1000);

// Iterations busier than 20 ms, as they happen.
const slow = iterations({ minBusyMs: 20 });
(async () => {
  for await (const it of slow) {
    console.log(
      `  slow iteration #${it.index} at ${it.startMs.toFixed(1)} ms: busy ${it.busyMs.toFixed(1)} ms ` +
        `(poll ${it.pollMs.toFixed(1)}, check ${it.checkMs.toFixed(1)}, timers ${it.timersMs.toFixed(1)})`,
    );
  }
})();

const ms = (d) => `p50 ${d.p50Ms.toFixed(3)} / p99 ${d.p99Ms.toFixed(3)} / max ${d.maxMs.toFixed(3)} ms`;
let previous = loopStats();
let windows = 0;
const report = setInterval(() => {
  const w = loopStats(previous);
  previous = w;
  console.log(
    `window ${++windows}: ${w.iterations} iterations, utilization ${(w.utilization * 100).toFixed(1)}%, ` +
      `${w.events ?? 'n/a'} events`,
  );
  console.log(`  busy      ${ms(w.busy)}`);
  for (const phase of ['poll', 'pollWait', 'check', 'timers']) console.log(`  ${phase.padEnd(9)} ${ms(w.phases[phase])}`);
  if (windows === 3) {
    for (const t of [work, stall, report]) clearInterval(t);
    slow.return();
    console.log(`(clock: ${loopClock}; pollWait read: ${runtime().pollWaitSource}, at start ${pollWaitSource})`);
  }
}, 1000);
