// ESM entry: re-exports the CommonJS build so that import and require share one
// module instance (one set of readers and watchers per thread).
export { configureThreadpool, iterations, loopStats, runtime, threadpool, threads, UvscopeError, watch } from './index.js';
export type {
  Distribution,
  HandleSummary,
  IterationRecord,
  IterationsOptions,
  IterationStream,
  LoopPhases,
  LoopStats,
  RuntimeInfo,
  ThreadpoolInFlight,
  ThreadpoolOptions,
  ThreadpoolSettings,
  ThreadpoolStats,
  ThreadpoolThread,
  ThreadStats,
  UvscopeErrorCode,
  WatchOptions,
} from './index.js';
