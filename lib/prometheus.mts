// ESM entry of uvscope/prometheus: re-exports the CommonJS build (one uvscope instance per thread).
export { registerUvscopeMetrics } from './prometheus.js';
export type {
  BridgeThreadOptions,
  PromMetric,
  PromMetricInfo,
  PromMetricValues,
  PromRegistryLike,
  PromSample,
  UvscopeMetricsOptions,
} from './prometheus.js';
