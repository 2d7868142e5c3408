// ESM entry of uvscope/otel: re-exports the CommonJS build (one uvscope instance per thread).
export { UvscopeInstrumentation, UvscopeMetricProducer } from './otel.js';
export type {
  OtelAttributes,
  OtelBatchObservableResult,
  OtelCollectionResult,
  OtelDataPoint,
  OtelDescriptor,
  OtelExponentialHistogramValue,
  OtelHistogramValue,
  OtelHrTime,
  OtelMeterLike,
  OtelMeterProviderLike,
  OtelMetricData,
  OtelObservable,
  UvscopeInstrumentationOptions,
  UvscopeMetricProducerOptions,
} from './otel.js';
export type { BridgeThreadOptions } from './bridge.js';
