// The bridges against the newest optional peers, which the repository's own devDependencies
// cannot hold beside the older ones (@opentelemetry/sdk-metrics 3.x needs
// @opentelemetry/api 1.10, 2.x refuses it; both need Node 22+): run by .ci/run in a project
// of their own with the packed uvscope installed. Exits non-zero on any mismatch.
//   node .ci/peers-check.mjs   (from that project's directory)
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'index.js'));
const { MeterProvider, MetricReader, DataPointType } = require('@opentelemetry/sdk-metrics');
const { UvscopeMetricProducer } = require('uvscope/otel');
const { Registry } = require('@prometheus-io/client');
const { registerUvscopeMetrics } = require('uvscope/prometheus');

const spin = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
// Some iterations, one of them slow, and a pool probe.
await new Promise((resolve) => {
  let n = 0;
  const step = () => (++n === 200 ? resolve() : setImmediate(n === 100 ? () => (spin(20), step()) : step));
  step();
});
await new Promise((r) => setTimeout(r, 250));

// OpenTelemetry SDK 3.x: the producer on a reader, exponential histograms by default.
class Reader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const reader = new Reader({ metricProducers: [new UvscopeMetricProducer()] });
const provider = new MeterProvider({ readers: [reader] });
const { resourceMetrics, errors } = await reader.collect();
assert.deepEqual(errors, []);
const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
const byName = (name) => metrics.find((m) => m.descriptor.name === name);
const phase = byName('uvscope.eventloop.phase.duration');
assert.ok(phase, 'uvscope.eventloop.phase.duration exported');
assert.equal(phase.dataPointType, DataPointType.EXPONENTIAL_HISTOGRAM);
const poll = phase.dataPoints.find((p) => p.attributes['uvscope.eventloop.phase'] === 'poll' && p.attributes['thread.id'] === 0);
assert.ok(poll && poll.value.count >= 150, `poll phase count ${poll?.value.count}`);
const busy = byName('uvscope.eventloop.iteration.busy_time').dataPoints.find((p) => p.attributes['thread.id'] === 0);
assert.ok(busy.value.max >= 0.02, `busy max ${busy.value.max} s holds the 20 ms block`);
assert.ok(byName('nodejs.eventloop.time'), 'nodejs.eventloop.time exported');
await provider.shutdown();

// @prometheus-io/client (prom-client's successor): registerMetric as prom-client has it.
const registry = new Registry();
registerUvscopeMetrics(registry);
const text = await registry.metrics();
assert.match(text, /^# TYPE uvscope_eventloop_phase_duration_seconds histogram$/m);
const count = Number(/^uvscope_eventloop_iteration_busy_time_seconds_count\{thread_id="0"\} (\d+)$/m.exec(text)?.[1]);
assert.ok(count >= 150, `busy count ${count}`);
assert.match(text, /^nodejs_eventloop_time_seconds_total\{thread_id="0",state="active"\} /m);

const versions = ['@opentelemetry/sdk-metrics', '@opentelemetry/api', '@prometheus-io/client'].map(
  (p) => `${p} ${JSON.parse(fs.readFileSync(path.join(process.cwd(), 'node_modules', p, 'package.json'), 'utf8')).version}`,
);
console.log(`Node ${process.versions.node}: the bridges work with ${versions.join(', ')}`);
