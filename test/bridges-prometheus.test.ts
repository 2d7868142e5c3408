// uvscope/prometheus on a real prom-client Registry; the exposition checked with a
// Prometheus text parser (python3-prometheus-client), not a regex.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { poolKnown, work } from './helpers/loop-work.js';
import { dist, uvscope } from './helpers/uvscope.js';

const require = createRequire(import.meta.url);
const prom = require(path.join(dist, 'prometheus.js')) as typeof import('../lib/prometheus.js');


interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface ParsedFamily {
  name: string;
  type: string;
  samples: ParsedSample[];
}

// Debian's python3, where python3-prometheus-client installs (.ci/run installs it); a
// python3 earlier on PATH (pyenv) does not see Debian's packages.
const PYTHON = '/usr/bin/python3';

/** Parses an exposition with prometheus_client's own parsers (text format or OpenMetrics). */
function parse(text: string, openMetrics = false): ParsedFamily[] {
  const script = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families as text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
parse = om if sys.argv[1] == 'om' else text
out = [{'name': f.name, 'type': f.type, 'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in f.samples]} for f in parse(sys.stdin.read())]
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, openMetrics ? 'om' : 'text'], { input: text, encoding: 'utf8' })) as ParsedFamily[];
}

describe('registerUvscopeMetrics', () => {
  it('exposes the metric set, with types and labels, as text a Prometheus parser accepts', async () => {
    uvscope.configureThreadpool({ probeIntervalMs: 5 });
    await work();
    await poolKnown();
    const registry = new Registry();
    prom.registerUvscopeMetrics(registry);
    const families = new Map(parse(await registry.metrics()).map((f) => [f.name, f]));
    const expected: [string, string][] = [
      ['nodejs_eventloop_time_seconds', 'counter'],
      ['nodejs_eventloop_utilization_ratio', 'gauge'],
      ['uvscope_eventloop_iterations', 'counter'],
      ['uvscope_eventloop_events', 'counter'],
      ['uvscope_eventloop_phase_duration_seconds', 'histogram'],
      ['uvscope_eventloop_iteration_busy_time_seconds', 'histogram'],
      ['uvscope_eventloop_iteration_wait_time_seconds', 'histogram'],
      ['uvscope_handle_count', 'gauge'],
      ['uvscope_threadpool_thread_count', 'gauge'],
      ['uvscope_threadpool_work_wait_time_seconds', 'histogram'],
    ];
    for (const [name, type] of expected) {
      expect(families.get(name)?.type, name).toBe(type);
      expect(families.get(name)!.samples.length, name).toBeGreaterThan(0);
    }
    const time = families.get('nodejs_eventloop_time_seconds')!.samples;
    expect(time.map((s) => s.name)).toEqual(['nodejs_eventloop_time_seconds_total', 'nodejs_eventloop_time_seconds_total']);
    expect(time.map((s) => s.labels)).toEqual([
      { thread_id: '0', state: 'active' },
      { thread_id: '0', state: 'idle' },
    ]);
    const phases = families.get('uvscope_eventloop_phase_duration_seconds')!.samples;
    expect(new Set(phases.map((s) => s.labels.phase))).toEqual(new Set(['poll', 'check', 'timers']));
    // Default buckets: 10 µs … 10 s, then +Inf.
    const les = phases.filter((s) => s.name.endsWith('_bucket') && s.labels.phase === 'poll').map((s) => s.labels.le);
    expect(Number(les[0])).toBe(1e-5);
    expect(Number(les.at(-2))).toBe(10);
    expect(les).toHaveLength(20);
    expect(les.at(-1)).toBe('+Inf');
    expect(families.get('uvscope_threadpool_thread_count')!.samples.map((s) => s.labels.state).sort()).toEqual(['busy', 'idle']);
    const util = families.get('nodejs_eventloop_utilization_ratio')!.samples[0]!.value;
    expect(util).toBeGreaterThan(0);
    expect(util).toBeLessThanOrEqual(1);
    // No lag or delay gauges: uvscope does not sample monitorEventLoopDelay.
    expect([...families.keys()].some((n) => n.includes('lag') || n.includes('delay'))).toBe(false);

    // OpenMetrics too: counters renamed by prom-client, the parser (strict about it) accepts it.
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const om = new Map(parse(await registry.metrics(), true).map((f) => [f.name, f]));
    expect(om.get('nodejs_eventloop_time_seconds')?.type).toBe('counter');
    expect(om.get('uvscope_eventloop_phase_duration_seconds')?.type).toBe('histogram');
    uvscope.configureThreadpool({ probeIntervalMs: 100 });
  });

  it("is lossless with 'exact' buckets: each cumulative bucket, _count and _sum equal the raw histogram", async () => {
    await work();
    const registry = new Registry();
    prom.registerUvscopeMetrics(registry, { buckets: 'exact' });
    // registry.metrics() calls every get() before its first await: same tick as this read.
    const raw = uvscope.loopHistograms().find((t) => t.current)!;
    const text = await registry.metrics();
    const samples = parse(text).find((f) => f.name === 'uvscope_eventloop_iteration_busy_time_seconds')!.samples.filter((s) => s.labels.thread_id === '0');
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    expect(buckets.length).toBe(86);
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
      const expected = raw.busy.buckets.filter((r) => r.highNs <= Math.round(le * 1e9)).reduce((n, r) => n + r.count, 0);
      expect(b.value, `le ${b.labels.le}`).toBe(le === Infinity ? raw.busy.count : expected);
    }
    expect(samples.find((s) => s.name.endsWith('_count'))!.value).toBe(raw.busy.count);
    expect(samples.find((s) => s.name.endsWith('_sum'))!.value).toBeCloseTo(raw.busy.sumNs / 1e9, 12);
    // Default buckets: counts still exact in total, +Inf = _count.
    const def = new Registry();
    prom.registerUvscopeMetrics(def);
    const d = parse(await def.metrics()).find((f) => f.name === 'uvscope_eventloop_iteration_busy_time_seconds')!.samples;
    const inf = d.find((s) => s.labels.le === '+Inf')!.value;
    expect(inf).toBe(d.find((s) => s.name.endsWith('_count'))!.value);
  });

  it('resets nothing: two scrapers of one registry see consistent, monotonic data', async () => {
    const registry = new Registry();
    prom.registerUvscopeMetrics(registry);
    const countOf = async () => {
      const f = parse(await registry.metrics()).find((x) => x.name === 'uvscope_eventloop_iteration_busy_time_seconds')!;
      return f.samples.find((s) => s.name.endsWith('_count') && s.labels.thread_id === '0')!.value;
    };
    const a1 = await countOf();
    await work();
    const b1 = await countOf(); // the second server
    registry.resetMetrics(); // what prom-client's own default collectors are reset by
    await work();
    const a2 = await countOf();
    const stats = uvscope.loopStats();
    expect(b1).toBeGreaterThan(a1);
    expect(a2).toBeGreaterThan(b1);
    // Still cumulative since recording started: nobody's scrape cut anybody's window.
    expect(a2).toBeLessThanOrEqual(stats.busy.count);
    expect(stats.busy.count - a2).toBeLessThan(5);
    // Two scrapes in one tick agree exactly.
    const [x, y] = await Promise.all([registry.metrics(), registry.metrics()]);
    expect(x).toBe(y);
  });

  it('labels worker loops by thread_id; in a worker it reports that worker only, and no pool', async () => {
    const collect = `
      const { Registry } = require('prom-client');
      const { registerUvscopeMetrics } = require('uvscope/prometheus');
      async function names() {
        const r = new Registry();
        registerUvscopeMetrics(r);
        const json = await r.getMetricsAsJSON();
        const ids = [...new Set(json.find((m) => m.name === 'uvscope_eventloop_iterations_total').values.map((v) => v.labels.thread_id))].sort();
        return { ids, pool: json.some((m) => m.name.startsWith('uvscope_threadpool_')) };
      }`;
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      ${collect}
      const worker = new Worker(${JSON.stringify(`
        const { parentPort } = require('node:worker_threads');
        ${collect}
        setTimeout(async () => parentPort.postMessage(await names()), 20);
        parentPort.on('message', () => process.exit(0));
      `)}, { eval: true });
      worker.on('message', async (inWorker) => {
        console.log(JSON.stringify({ inWorker, onMain: await names(), workerId: worker.threadId }));
        worker.postMessage('exit');
      });
    `);
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout);
    expect(r.inWorker).toEqual({ ids: [r.workerId], pool: false });
    expect(r.onMain).toEqual({ ids: [0, r.workerId], pool: true });
  });

  it('names the argument it rejects', () => {
    expect(() => prom.registerUvscopeMetrics({} as never)).toThrow(/registry/);
    expect(() => prom.registerUvscopeMetrics(new Registry(), { buckets: [1, 0.5] })).toThrow(RangeError);
    expect(() => prom.registerUvscopeMetrics(new Registry(), { buckets: [1, 0.5] })).toThrow(/options\.buckets\[1\]/);
    expect(() => prom.registerUvscopeMetrics(new Registry(), { threads: 'some' as never })).toThrow(/options\.threads/);
  });
});
