// ESM entry: re-exports the CommonJS build so that import and require share one
// module instance (one set of readers and watchers per thread).
export { runtime, UvscopeError } from './index.js';
export type { RuntimeInfo, UvscopeErrorCode } from './index.js';
