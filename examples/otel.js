// uvscope's loop and thread-pool metrics through the OpenTelemetry SDK: a console exporter
// every 2 s (swap in an OTLP exporter for a collector). Needs @opentelemetry/sdk-metrics.
//   node examples/otel.js
const { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { UvscopeMetricProducer } = require('uvscope/otel');

const reader = new PeriodicExportingMetricReader({
  exporter: new ConsoleMetricExporter(),
  exportIntervalMillis: 2000,
  // Real histograms per phase and per thread, handed to the reader pre-aggregated.
  metricProducers: [new UvscopeMetricProducer()],
});
const provider = new MeterProvider({ readers: [reader] });

// Some loop work: timers, immediates, and a 20 ms stall now and then.
const spin = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const work = setInterval(() => {
  setImmediate(() => spin(1));
  if (Math.random() < 0.05) spin(20);
}, 10);

setTimeout(async () => {
  clearInterval(work);
  await provider.shutdown(); // exports once more, then stops
}, 4500);
