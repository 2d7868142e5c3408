// uvscope/otel with the real @opentelemetry/sdk-metrics: a reader's metricProducers, and the
// instrumentation on a MeterProvider.
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { poolKnown, spin, work } from './helpers/loop-work.js';
import { dist, uvscope } from './helpers/uvscope.js';

const require = createRequire(import.meta.url);
const otel = require(path.join(dist, 'otel.js')) as typeof import('../lib/otel.js');
const bridge = require(path.join(dist, 'bridge.js')) as typeof import('../lib/bridge.js');
const distribution = require(path.join(dist, 'distribution.js')) as typeof import('../lib/distribution.js');
const { binding } = require(path.join(dist, 'binding.js')) as typeof import('../lib/binding.js');

class TestReader extends MetricReader {
  protected override async onShutdown() {}
  protected override async onForceFlush() {}
}

function setup(...producers: import('../lib/otel.js').UvscopeMetricProducer[]) {
  const readers = producers.map((p) => new TestReader({ metricProducers: [p] }));
  new MeterProvider({ readers });
  return readers;
}

const uvscopeMetrics = (rm: ResourceMetrics) => rm.scopeMetrics.filter((s) => s.scope.name === 'uvscope').flatMap((s) => s.metrics);
const byName = (metrics: MetricData[]) => new Map(metrics.map((m) => [m.descriptor.name, m]));


describe('UvscopeMetricProducer', () => {
  it('exports the metric set with the names, types, units and attributes of BRIDGES.md', async () => {
    uvscope.configureThreadpool({ probeIntervalMs: 5 });
    await work();
    await poolKnown();
    const [reader] = setup(new otel.UvscopeMetricProducer());
    const { resourceMetrics, errors } = await reader!.collect();
    expect(errors).toEqual([]);
    const m = byName(uvscopeMetrics(resourceMetrics));
    const expected: [string, DataPointType, string][] = [
      ['nodejs.eventloop.time', DataPointType.SUM, 's'],
      ['nodejs.eventloop.utilization', DataPointType.GAUGE, '1'],
      ['uvscope.eventloop.iterations', DataPointType.SUM, '{iteration}'],
      ['uvscope.eventloop.events', DataPointType.SUM, '{event}'],
      ['uvscope.eventloop.iteration.busy_time', DataPointType.EXPONENTIAL_HISTOGRAM, 's'],
      ['uvscope.eventloop.iteration.wait_time', DataPointType.EXPONENTIAL_HISTOGRAM, 's'],
      ['uvscope.eventloop.phase.duration', DataPointType.EXPONENTIAL_HISTOGRAM, 's'],
      ['uvscope.handle.count', DataPointType.SUM, '{handle}'],
      ['uvscope.threadpool.thread.count', DataPointType.SUM, '{thread}'],
      ['uvscope.threadpool.work.wait_time', DataPointType.EXPONENTIAL_HISTOGRAM, 's'],
    ];
    for (const [name, type, unit] of expected) {
      const metric = m.get(name);
      expect(metric, name).toBeDefined();
      expect(metric!.dataPointType, name).toBe(type);
      expect(metric!.descriptor.unit, name).toBe(unit);
      expect(metric!.aggregationTemporality, name).toBe(AggregationTemporality.CUMULATIVE);
    }
    // No semconv delay gauges: those are monitorEventLoopDelay readings, which uvscope does not take.
    expect([...m.keys()].some((n) => n.startsWith('nodejs.eventloop.delay'))).toBe(false);
    // queue.length only with tracking on (it is unknown otherwise).
    expect(m.has('uvscope.threadpool.queue.length')).toBe(false);

    const time = m.get('nodejs.eventloop.time')!;
    expect(time.dataPointType === DataPointType.SUM && time.isMonotonic).toBe(true);
    expect(time.dataPoints.map((p) => p.attributes).sort((a, b) => String(a['nodejs.eventloop.state']).localeCompare(String(b['nodejs.eventloop.state'])))).toEqual([
      { 'thread.id': 0, 'nodejs.eventloop.state': 'active' },
      { 'thread.id': 0, 'nodejs.eventloop.state': 'idle' },
    ]);
    const handles = m.get('uvscope.handle.count')!;
    expect(handles.dataPointType === DataPointType.SUM && handles.isMonotonic).toBe(false);
    expect(handles.dataPoints.every((p) => p.attributes['thread.id'] === 0 && typeof p.attributes['uvscope.handle.type'] === 'string')).toBe(true);
    const phases = m.get('uvscope.eventloop.phase.duration')!.dataPoints.map((p) => p.attributes['uvscope.eventloop.phase']);
    expect(phases.sort()).toEqual(['check', 'poll', 'timers']);
    const pool = m.get('uvscope.threadpool.thread.count')!.dataPoints.map((p) => p.attributes['uvscope.threadpool.thread.state']);
    expect(pool.sort()).toEqual(['busy', 'idle']);
    const util = m.get('nodejs.eventloop.utilization')!.dataPoints[0]!.value as number;
    expect(util).toBeGreaterThan(0);
    expect(util).toBeLessThanOrEqual(1);
    uvscope.configureThreadpool({ probeIntervalMs: 100 });
  });

  it('is lossless: bucket counts add up to the count and equal the raw histograms (exponential and exact explicit)', async () => {
    await work();
    const [expReader, explicitReader] = setup(
      new otel.UvscopeMetricProducer(),
      new otel.UvscopeMetricProducer({ aggregation: 'explicit', boundaries: 'exact' }),
    );
    // Same tick: reader.collect() reads its producers synchronously, before its first await.
    const raw = uvscope.loopHistograms().find((t) => t.current)!;
    const [e, x] = await Promise.all([expReader!.collect(), explicitReader!.collect()]);
    const exp = byName(uvscopeMetrics(e.resourceMetrics)).get('uvscope.eventloop.iteration.busy_time')!;
    const explicit = byName(uvscopeMetrics(x.resourceMetrics)).get('uvscope.eventloop.iteration.busy_time')!;
    expect(exp.dataPointType).toBe(DataPointType.EXPONENTIAL_HISTOGRAM);
    expect(explicit.dataPointType).toBe(DataPointType.HISTOGRAM);
    if (exp.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM || explicit.dataPointType !== DataPointType.HISTOGRAM) return;
    const ev = exp.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value;
    expect(ev.count).toBe(raw.busy.count);
    expect(ev.zeroCount + ev.positive.bucketCounts.reduce((a, b) => a + b, 0)).toBe(ev.count);
    expect(ev.sum).toBeCloseTo(raw.busy.sumNs * 1e-9, 12);
    expect(ev.max).toBeCloseTo(raw.busy.maxNs * 1e-9, 12);
    expect(ev.positive.bucketCounts.length).toBeLessThanOrEqual(160);
    // Every raw bucket's midpoint (the open last bucket: the max) lies in the exponential
    // bucket (base^i, base^(i+1)] that received it, base = 2^(2^-scale).
    for (const b of raw.busy.buckets) {
      if (b.highNs === 0) continue;
      const mid = (b.highNs === Infinity ? Math.max(b.lowNs, raw.busy.maxNs) : (b.lowNs + b.highNs) / 2) * 1e-9;
      const index = Math.ceil(Math.log2(mid) * 2 ** ev.scale) - 1 - ev.positive.offset;
      expect(ev.positive.bucketCounts[index]).toBeGreaterThanOrEqual(b.count);
    }

    const xv = explicit.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value;
    expect(xv.count).toBe(raw.busy.count);
    expect(xv.buckets.counts.reduce((a, b) => a + b, 0)).toBe(raw.busy.count);
    // 'exact' boundaries are uvscope's inclusive upper edges: each cumulative count is exact.
    let cumulative = 0;
    xv.buckets.boundaries.forEach((le, i) => {
      cumulative += xv.buckets.counts[i]!;
      const rawBelow = raw.busy.buckets.filter((b) => b.highNs <= Math.round(le * 1e9)).reduce((a, b) => a + b.count, 0);
      expect(cumulative, `le ${le}`).toBe(rawBelow);
    });
  });

  it('agrees with loopStats() over the same window (delta temporality)', async () => {
    const [reader] = setup(new otel.UvscopeMetricProducer({ temporality: 'delta' }));
    const since = uvscope.loopStats();
    await reader!.collect();
    await work();
    const window = uvscope.loopStats(since);
    const { resourceMetrics } = await reader!.collect();
    const m = byName(uvscopeMetrics(resourceMetrics));
    const busy = m.get('uvscope.eventloop.iteration.busy_time')!;
    const iterations = m.get('uvscope.eventloop.iterations')!;
    expect(busy.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    if (busy.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) throw new Error('not exponential');
    const v = busy.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value;
    expect(v.count).toBe(window.busy.count);
    expect(v.sum * 1e3).toBeCloseTo(window.busy.totalMs, 6);
    expect(iterations.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value).toBe(window.iterations);
    const poll = m.get('uvscope.eventloop.phase.duration')!;
    if (poll.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) throw new Error('not exponential');
    const check = poll.dataPoints.find((p) => p.attributes['uvscope.eventloop.phase'] === 'check')!.value;
    expect(check.count).toBe(window.phases.check.count);
  });

  it('keeps two readers independent: neither resets or cuts the other', async () => {
    const [a, b] = setup(new otel.UvscopeMetricProducer({ temporality: 'delta' }), new otel.UvscopeMetricProducer({ temporality: 'delta' }));
    const count = async (r: MetricReader) => {
      const m = byName(uvscopeMetrics((await r.collect()).resourceMetrics)).get('uvscope.eventloop.iteration.busy_time')!;
      return (m.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value as { count: number }).count;
    };
    const pa = a!.collect();
    const pb = b!.collect();
    await Promise.all([pa, pb]);
    let sumA = 0;
    for (let i = 0; i < 3; i++) {
      await work();
      sumA += await count(a!);
    }
    await work();
    // Both read in one tick (a reader reads its producers before its first await): b's one
    // window is the sum of a's four.
    const [lastA, onlyB] = await Promise.all([count(a!), count(b!)]);
    sumA += lastA;
    expect(onlyB).toBe(sumA);
    expect(sumA).toBeGreaterThan(0);
  });

  it('labels worker loops by thread.id; in a worker it reports that worker only, and no pool', async () => {
    // Defined in both threads: read one producer through a real reader, list what it labels.
    const names = `
      const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
      class R extends MetricReader { async onShutdown() {} async onForceFlush() {} }
      async function names(producer) {
        const r = new R({ metricProducers: [producer] });
        new MeterProvider({ readers: [r] });
        const { resourceMetrics } = await r.collect();
        const ms = resourceMetrics.scopeMetrics.find((s) => s.scope.name === 'uvscope').metrics;
        const ids = [...new Set(ms.find((m) => m.descriptor.name === 'uvscope.eventloop.iterations').dataPoints.map((p) => p.attributes['thread.id']))].sort();
        return { ids, pool: ms.some((m) => m.descriptor.name.startsWith('uvscope.threadpool.')) };
      }`;
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      ${names}
      const worker = new Worker(${JSON.stringify(`
        const { parentPort } = require('node:worker_threads');
        const { UvscopeMetricProducer } = require('uvscope/otel');
        ${names}
        setTimeout(async () => parentPort.postMessage(await names(new UvscopeMetricProducer())), 20);
        parentPort.on('message', () => process.exit(0));
      `)}, { eval: true });
      const { UvscopeMetricProducer } = require('uvscope/otel');
      worker.on('message', async (inWorker) => {
        const onMain = await names(new UvscopeMetricProducer());
        console.log(JSON.stringify({ inWorker, onMain, workerId: worker.threadId }));
        worker.postMessage('exit');
      });
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.inWorker).toEqual({ ids: [r.workerId], pool: false });
    expect(r.onMain).toEqual({ ids: [0, r.workerId], pool: true });
  });
});

describe('exponential buckets', () => {
  it('put every value within half a uvscope bucket of the exponential bucket reported, within maxSize', () => {
    const native = binding();
    const layout = native.histogramLayout;
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const [spread, maxSize] of [[4, 160], [1e3, 160], [2e8, 160], [2e8, 40], [1e5, 16384]] as const) {
      // From 50 µs (or 50 ns for the widest: up to 10 s, inside uvscope's range).
      const low = spread > 1e6 ? 50 : 50_000;
      const values = Array.from({ length: 20000 }, () => Math.floor(low * Math.exp(rand() * Math.log(spread))));
      const raw = distribution.rawHistogram(layout, distribution.readImage(layout, native.histogramOf(Float64Array.from(values))));
      const e = bridge.exponentialBuckets(raw, maxSize);
      expect(e.bucketCounts.length).toBeLessThanOrEqual(maxSize);
      expect(e.zeroCount + e.bucketCounts.reduce((a, b) => a + b, 0)).toBe(values.length);
      expect(e.scale).toBeLessThanOrEqual(6);
      // Two octaves fit 160 buckets at uvscope's resolution (64 a power of two), ten need scale 4 (16).
      if (spread === 4) expect(e.scale).toBe(6);
      if (spread === 1e3) expect(e.scale).toBe(4);
      if (maxSize === 16384) expect(e.scale).toBe(6);
      const base = 2 ** (2 ** -e.scale);
      // Recount the values into the buckets their raw bucket was given to.
      const recount = new Array<number>(e.bucketCounts.length).fill(0);
      let outside = 0;
      let worst = -Infinity; // how far a value lies outside its reported bucket, relative
      for (const v of values) {
        let lo0 = 0;
        let hi0 = raw.buckets.length - 1;
        while (lo0 < hi0) {
          const mid = (lo0 + hi0 + 1) >> 1;
          if (raw.buckets[mid]!.lowNs <= v) lo0 = mid;
          else hi0 = mid - 1;
        }
        const b = raw.buckets[lo0]!;
        if (v > b.highNs) outside++;
        const index = Math.ceil(Math.log2(((b.lowNs + b.highNs) / 2) * 1e-9) * 2 ** e.scale) - 1 - e.offset;
        recount[index]! += 1;
        // The value lies in (base^i, base^(i+1)] seconds, give or take half its uvscope bucket (< 0.8%).
        const lo = base ** (index + e.offset);
        const hi = lo * base;
        worst = Math.max(worst, lo / (v * 1e-9) - 1, (v * 1e-9) / hi - 1);
      }
      expect(outside).toBe(0);
      expect(worst, `spread ${spread}, maxSize ${maxSize}`).toBeLessThan(0.008);
      expect(recount).toEqual(e.bucketCounts);
    }
  });
});

describe('alongside runtime-node', () => {
  it("the README's View drops runtime-node's copies of the loop metrics and keeps uvscope's", async () => {
    const views = ['nodejs.eventloop.utilization', 'nodejs.eventloop.time'].map((instrumentName) => ({
      meterName: '@opentelemetry/instrumentation-runtime-node',
      instrumentName,
      aggregation: { type: AggregationType.DROP as const },
    }));
    const reader = new TestReader({ metricProducers: [new otel.UvscopeMetricProducer()] });
    const provider = new MeterProvider({ views, readers: [reader] });
    // What runtime-node registers, under its meter name.
    const meter = provider.getMeter('@opentelemetry/instrumentation-runtime-node');
    meter.createObservableGauge('nodejs.eventloop.utilization').addCallback((r) => r.observe(0.5));
    meter.createObservableCounter('nodejs.eventloop.time').addCallback((r) => r.observe(1, { 'nodejs.eventloop.state': 'idle' }));
    meter.createObservableGauge('nodejs.eventloop.delay.p99').addCallback((r) => r.observe(0.001));
    const { resourceMetrics } = await reader.collect();
    const scopes = new Map(resourceMetrics.scopeMetrics.map((s) => [s.scope.name, s.metrics.map((m) => m.descriptor.name)]));
    expect(scopes.get('@opentelemetry/instrumentation-runtime-node')).toEqual(['nodejs.eventloop.delay.p99']);
    expect(scopes.get('uvscope')).toEqual(expect.arrayContaining(['nodejs.eventloop.utilization', 'nodejs.eventloop.time']));
  });
});

describe('bridge options', () => {
  it('are checked, with errors that name the option', () => {
    const P = otel.UvscopeMetricProducer;
    expect(() => new P({ aggregation: 'linear' as never })).toThrow(RangeError);
    expect(() => new P({ aggregation: 'linear' as never })).toThrow(/options\.aggregation/);
    expect(() => new P({ temporality: 1 as never })).toThrow(TypeError);
    expect(() => new P({ maxSize: 1 })).toThrow(/options\.maxSize/);
    expect(() => new P({ boundaries: [0.1, 'x'] as never })).toThrow(/options\.boundaries\[1\]/);
    expect(() => new P({ threadpool: 'yes' as never })).toThrow(/options\.threadpool/);
    expect(() => new P([] as never)).toThrow(/options/);
    expect(() => new otel.UvscopeInstrumentation({ meterProvider: {} as never })).toThrow(/provider/);
  });
});

describe('UvscopeInstrumentation', () => {
  it('observes counters, gauges and windowed quantile gauges through a MeterProvider', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const instrumentation = new otel.UvscopeInstrumentation({ meterProvider: provider });
    await work();
    const first = byName(uvscopeMetrics((await reader.collect()).resourceMetrics));
    for (const name of ['nodejs.eventloop.time', 'nodejs.eventloop.utilization', 'uvscope.eventloop.iterations', 'uvscope.handle.count', 'uvscope.eventloop.iteration.busy_time.p99', 'uvscope.eventloop.phase.duration.max']) {
      expect(first.get(name)?.dataPoints.length, name).toBeGreaterThan(0);
    }
    expect(first.get('nodejs.eventloop.time')!.dataPointType).toBe(DataPointType.SUM);
    expect(first.get('uvscope.eventloop.iteration.busy_time.p99')!.dataPointType).toBe(DataPointType.GAUGE);
    const stats = uvscope.loopStats();
    const iterations = first.get('uvscope.eventloop.iterations')!.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value as number;
    expect(iterations).toBeLessThanOrEqual(stats.iterations);
    expect(iterations).toBeGreaterThan(0);
    // A 150 ms block shows in the next window's max, then leaves it (a margin for a loaded
    // machine, where a 1 ms spin can take far longer on the wall clock).
    spin(150);
    await new Promise((r) => setTimeout(r, 5));
    const blocked = byName(uvscopeMetrics((await reader.collect()).resourceMetrics));
    const maxOf = (m: Map<string, MetricData>) => m.get('uvscope.eventloop.iteration.busy_time.max')!.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value as number;
    expect(maxOf(blocked)).toBeGreaterThanOrEqual(0.15);
    await work();
    const after = byName(uvscopeMetrics((await reader.collect()).resourceMetrics));
    expect(maxOf(after)).toBeLessThan(0.15);
    // Disabled, it observes nothing more: the SDK repeats the last cumulative value.
    const iterationsOf = (m: Map<string, MetricData>) => m.get('uvscope.eventloop.iterations')!.dataPoints.find((p) => p.attributes['thread.id'] === 0)!.value as number;
    instrumentation.disable();
    const off1 = iterationsOf(byName(uvscopeMetrics((await reader.collect()).resourceMetrics)));
    await work();
    const off2 = iterationsOf(byName(uvscopeMetrics((await reader.collect()).resourceMetrics)));
    expect(off2).toBe(off1);
    instrumentation.enable();
    expect(iterationsOf(byName(uvscopeMetrics((await reader.collect()).resourceMetrics)))).toBeGreaterThan(off2);
    instrumentation.disable();
  });

  it('uses the global meter provider when given none', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    expect(metrics.setGlobalMeterProvider(provider)).toBe(true);
    const instrumentation = new otel.UvscopeInstrumentation();
    await work();
    const m = byName(uvscopeMetrics((await reader.collect()).resourceMetrics));
    expect(m.get('uvscope.eventloop.iterations')?.dataPoints.length).toBeGreaterThan(0);
    instrumentation.disable();
    metrics.disable();
  });
});
