// What one loopStats(since) / threads(since) call costs: time, and the memory each call
// allocates, kept (every snapshot retained, as a caller that keeps windows does) and in all.
//   node --expose-gc --max-semi-space-size=64 bench/read-cost.mjs [calls=2000] [package dir=..]
// (The large young generation keeps the GC out of a batch, so growth = what it allocated.)
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const calls = Number(process.argv[2] ?? 2000);
const pkg = path.resolve(process.argv[3] ?? path.join(here, '..'));
const u = createRequire(path.join(pkg, 'package.json'))(path.join(pkg, 'dist/index.js'));
const gc = globalThis.gc ?? (() => {});

function measure(name, first, next) {
  let s = first();
  for (let i = 0; i < 200; i++) s = next(s); // warm-up
  // Time: the best of 5 batches (the box is shared), each chaining `since`.
  let best = Infinity;
  for (let b = 0; b < 5; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) s = next(s);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / calls / 1e3);
  }
  // Memory: every result kept, so nothing allocated can be freed before it is counted.
  const kept = [];
  gc();
  const m0 = process.memoryUsage();
  for (let i = 0; i < calls; i++) kept.push((s = next(s)));
  const m1 = process.memoryUsage();
  const kb = (n) => (n / calls / 1024).toFixed(2);
  console.log(
    `${name.padEnd(18)} ${best.toFixed(1).padStart(7)} µs/call  ArrayBuffers kept ${kb(m1.arrayBuffers - m0.arrayBuffers)} KB/call` +
      `  JS heap ${kb(m1.heapUsed - m0.heapUsed)} KB/call (kept + garbage)`,
  );
}

console.log(`${pkg}, Node ${process.version}, ${calls} calls a batch`);
measure('loopStats(since)', () => u.loopStats(), (s) => u.loopStats(s));
measure('threads(since)', () => u.threads(), (s) => u.threads(s));
measure('threadpool(since)', () => u.threadpool(), (s) => u.threadpool(s));
measure('loopHistograms()', () => u.loopHistograms(), () => u.loopHistograms());
measure('threadpoolHist..()', () => u.threadpoolHistograms(), () => u.threadpoolHistograms());
