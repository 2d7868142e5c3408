// The bridges' structural types against the real SDK and API types: a UvscopeMetricProducer
// is a MetricProducer, and the SDK's and the API's meter providers are accepted.
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { metrics } from '@opentelemetry/api';
import otel = require('uvscope/otel');

export const producer: MetricProducer = new otel.UvscopeMetricProducer({ aggregation: 'explicit', boundaries: 'exact', temporality: 'delta' });
export const sdkProvider: otel.OtelMeterProviderLike = new MeterProvider();
export const apiProvider: otel.OtelMeterProviderLike = metrics.getMeterProvider();
export const instrumentation = new otel.UvscopeInstrumentation({ meterProvider: new MeterProvider(), threads: 'current' });

// A prom-client Registry (and the default one) is accepted; the metrics come back typed.
import { Registry, register } from 'prom-client';
import prom = require('uvscope/prometheus');
export const registered: prom.PromMetric[] = prom.registerUvscopeMetrics(new Registry(), { buckets: 'exact', threads: 'all', threadpool: true });
export const onDefault = prom.registerUvscopeMetrics(register);
