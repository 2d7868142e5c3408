// Cost of one bridge collection, per thread, against baselines measured in the same run:
// prom-client's own default collectors (one scrape) and uvscope's threads() (one read).
//   node bench/bridges.mjs [workers=4] [collections=300]
// The main thread plus `workers` worker threads load uvscope and keep their loops busy (a
// pool of workers like Piscina's). Each collection is timed on the main thread, which reads
// every thread; per-thread figures divide by the threads read. Medians of the collections.
// Memory: heap retained per delta producer (each keeps its previous read), from N producers.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const workers = Number(process.argv[2] ?? 4);
const collections = Number(process.argv[3] ?? 300);

const uvscope = require('uvscope');
const { UvscopeMetricProducer } = require('uvscope/otel');
const { registerUvscopeMetrics } = require('uvscope/prometheus');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const client = require('prom-client');

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}

const pool = [];
for (let i = 0; i < workers; i++) {
  pool.push(
    new Worker(
      `require('uvscope');
       const { parentPort } = require('node:worker_threads');
       const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
       setInterval(() => { spin(Math.random() * 0.2); setImmediate(() => {}); }, 3);
       parentPort.postMessage('up');`,
      { eval: true },
    ),
  );
}
await Promise.all(pool.map((w) => new Promise((r) => w.once('message', r))));
const keepBusy = setInterval(() => setImmediate(() => {}), 2);
await new Promise((r) => setTimeout(r, 1500)); // histograms with a realistic spread

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Round-robin: each round times every variant once, so load from other processes falls on
// all of them alike; the medians over the rounds are compared.
async function timeAll(variants) {
  const samples = variants.map(() => []);
  for (let round = -20; round < collections; round++) {
    for (let v = 0; v < variants.length; v++) {
      const t0 = performance.now();
      await variants[v][1]();
      if (round >= 0) samples[v].push(performance.now() - t0);
      await new Promise((r) => setImmediate(r));
    }
  }
  return variants.map(([label], v) => ({ label, ms: median(samples[v]) }));
}

const threads = uvscope.loopHistograms().length;
const otelReader = (options) => {
  const r = new Reader({ metricProducers: [new UvscopeMetricProducer(options)] });
  new MeterProvider({ readers: [r] });
  return r;
};
const exp = otelReader();
const explicit = otelReader({ aggregation: 'explicit' });
const delta = otelReader({ temporality: 'delta' });
const empty = new Reader();
new MeterProvider({ readers: [empty] });
const promRegistry = new client.Registry();
registerUvscopeMetrics(promRegistry);
const promExact = new client.Registry();
registerUvscopeMetrics(promExact, { buckets: 'exact' });
const defaults = new client.Registry();
client.collectDefaultMetrics({ register: defaults });

const results = await timeAll([
  ['threads() (baseline: one uvscope read)', () => uvscope.threads()],
  ["prom-client's default metrics, one scrape (baseline)", () => defaults.metrics()],
  ['loopHistograms() (the raw read)', () => uvscope.loopHistograms()],
  ['OTel reader, no producer (SDK overhead)', () => empty.collect()],
  ['OTel producer, exponential, cumulative', () => exp.collect()],
  ['OTel producer, exponential, delta', () => delta.collect()],
  ['OTel producer, explicit (default boundaries)', () => explicit.collect()],
  ['Prometheus scrape, default buckets', () => promRegistry.metrics()],
  ["Prometheus scrape, 'exact' buckets", () => promExact.metrics()],
]);
clearInterval(keepBusy);

console.log(`Node ${process.version}, ${threads} threads read (main + ${workers} workers), ${collections} collections, medians`);
const base = results[0].ms;
const prom = results[1].ms;
for (const r of results) {
  console.log(
    `${r.label.padEnd(56)} ${r.ms.toFixed(3).padStart(7)} ms  ${(r.ms / threads).toFixed(3).padStart(6)} ms/thread  ` +
      `x${(r.ms / base).toFixed(2)} threads()  x${(r.ms / prom).toFixed(2)} prom-client defaults`,
  );
}

// Memory per producer: N readers with a delta producer each, collected once (each producer
// keeps its previous read), less N readers without one.
const retained = async (withProducer) => {
  global.gc?.();
  const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = used();
  const readers = Array.from({ length: 50 }, () => (withProducer ? otelReader({ temporality: 'delta' }) : (() => { const r = new Reader(); new MeterProvider({ readers: [r] }); return r; })()));
  for (const r of readers) await r.collect();
  global.gc?.();
  const bytes = (used() - before) / readers.length;
  readers.length = 0;
  return bytes;
};
const plain = await retained(false);
const withProducer = await retained(true);
console.log(
  `memory per delta producer (${threads} threads): ${((withProducer - plain) / 1024).toFixed(1)} KB` +
    ` (reader + provider alone: ${(plain / 1024).toFixed(1)} KB)${global.gc ? '' : ' — run with --expose-gc for stable figures'}`,
);

for (const w of pool) await w.terminate();
