// What threads() costs as ended workers accumulate (uvscope keeps each for 60 s, at most
// 256): time per call and memory allocated per call, with only the main thread and again
// with `ended` ended workers retained, in the same run.
//   node bench/threads-ended.mjs [ended=256] [calls=200]
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const { threads } = require('../dist/index.js');

const ended = Number(process.argv[2] ?? 256);
const calls = Number(process.argv[3] ?? 200);

function measure() {
  for (let i = 0; i < 20; i++) threads(); // warm up (and let the first reads fill any cache)
  globalThis.gc?.();
  const before = process.memoryUsage();
  const started = process.hrtime.bigint();
  let keep = 0;
  for (let i = 0; i < calls; i++) keep += threads().length;
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / calls;
  const after = process.memoryUsage();
  // Without a GC in between, what a call left behind in the V8 heap and in ArrayBuffers.
  const allocatedKb = (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / 1024 / calls;
  return { ms, allocatedKb, listed: keep / calls };
}

const alone = measure();
await new Promise((resolve) => {
  let left = ended;
  if (left === 0) resolve();
  for (let i = 0; i < ended; i++) {
    const w = new Worker("require(process.cwd() + '/dist/index.js')", { eval: true });
    w.on('exit', () => {
      if (--left === 0) resolve();
    });
  }
});
// Let the workers' teardown (their threads, ports, garbage) finish before measuring.
await new Promise((resolve) => setTimeout(resolve, 1000));
const withEnded = measure();
const f = (n) => n.toFixed(3);
console.log(`threads(), ${calls} calls, Node ${process.version}`);
console.log(`  main thread only   : ${f(alone.ms)} ms/call, ~${alone.allocatedKb.toFixed(0)} KB/call allocated, ${alone.listed} listed`);
console.log(`  + ${ended} ended workers: ${f(withEnded.ms)} ms/call, ~${withEnded.allocatedKb.toFixed(0)} KB/call allocated, ${withEnded.listed} listed`);
console.log(`  ratio (ended / alone): ${(withEnded.ms / alone.ms).toFixed(1)}x time`);
const rss = process.memoryUsage().rss / 2 ** 20;
console.log(`  RSS after: ${rss.toFixed(0)} MB`);
