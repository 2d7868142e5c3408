// Memory under a long observed run: an HTTP server under steady load with watch(),
// iterations(), whyAlive()/handles() every 100 ms, and threads() every 100 ms from a
// worker. Prints RSS, JS heap and ArrayBuffer memory every 10 s, then the growth after
// warm-up (the first minute).
//   node bench/soak.mjs [seconds=300] [package dir=..]   (UVSCOPE_SOAK_OFF=1: no uvscope;
//   UVSCOPE_SOAK_OFF=worker: no uvscope, but the same worker, idle on a 100 ms timer)
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const here = path.dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 300);
const pkg = path.resolve(process.argv[3] ?? path.join(here, '..'));
const off = process.env.UVSCOPE_SOAK_OFF === '1' || process.env.UVSCOPE_SOAK_OFF === 'worker';
const bareWorker = process.env.UVSCOPE_SOAK_OFF === 'worker';

if (process.argv[2] === 'client') {
  // The load generator: keep-alive requests, 8 at a time, in its own process.
  const { request, Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const port = Number(process.argv[3]);
  const one = () =>
    request({ port, agent, path: '/' }, (res) => {
      res.resume();
      res.on('end', one);
    })
      .on('error', () => setTimeout(one, 10))
      .end();
  for (let i = 0; i < 8; i++) one();
} else {
  const server = createServer((req, res) => res.end('hello '.repeat(20)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const client = fork(fileURLToPath(import.meta.url), ['client', String(port)]);

  let worker;
  const stops = [];
  if (bareWorker) {
    // What a worker alone costs (its isolate and heap), to tell it from uvscope's share.
    worker = new Worker(
      `const t = setInterval(() => {}, 100);
       require('node:worker_threads').parentPort.on('message', () => { clearInterval(t); process.exit(0); });`,
      { eval: true },
    );
  }
  if (!off) {
    const require = createRequire(path.join(pkg, 'package.json'));
    const u = require(path.join(pkg, 'dist/index.js'));
    (async () => {
      for await (const _ of u.watch({ intervalMs: 100 })) if (stops.length === 0) break;
    })();
    const stream = u.iterations();
    (async () => {
      for await (const _ of stream) if (stops.length === 0) break;
    })();
    stops.push(() => stream.return?.());
    const t = setInterval(() => {
      u.whyAlive();
      u.handles();
    }, 100);
    stops.push(() => clearInterval(t));
    worker = new Worker(
      `const u = require(${JSON.stringify(path.join(pkg, 'dist/index.js'))});
       const t = setInterval(() => u.threads(), 100);
       require('node:worker_threads').parentPort.on('message', () => { clearInterval(t); process.exit(0); });`,
      { eval: true },
    );
  }

  const mb = (n) => n / 2 ** 20;
  const samples = [];
  const started = Date.now();
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ s: (Date.now() - started) / 1000, rss: mb(m.rss), heap: mb(m.heapUsed), ab: mb(m.arrayBuffers) });
    const last = samples.at(-1);
    console.log(`${last.s.toFixed(0).padStart(4)} s  rss ${last.rss.toFixed(1)} MB  heap ${last.heap.toFixed(1)} MB  arrayBuffers ${last.ab.toFixed(1)} MB`);
  };
  const timer = setInterval(sample, 10_000);
  setTimeout(() => {
    clearInterval(timer);
    sample();
    const warm = samples.find((x) => x.s >= 60) ?? samples[0];
    const end = samples.at(-1);
    const max = Math.max(...samples.filter((x) => x.s >= warm.s).map((x) => x.rss));
    console.log(
      `${bareWorker ? 'without uvscope, with a bare worker' : off ? 'without uvscope' : `uvscope from ${pkg}`}, Node ${process.version}, ${seconds} s: ` +
        `RSS after warm-up (${warm.s.toFixed(0)} s) ${warm.rss.toFixed(1)} MB -> end ${end.rss.toFixed(1)} MB ` +
        `(${(end.rss - warm.rss >= 0 ? '+' : '') + (end.rss - warm.rss).toFixed(1)} MB, max ${max.toFixed(1)} MB)`,
    );
    client.kill();
    worker?.postMessage('stop');
    for (const stop of stops) stop();
    server.close();
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 200).unref();
  }, seconds * 1000);
}
