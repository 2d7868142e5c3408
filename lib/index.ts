// The public surface: an explicit export list.
import { binding, type RuntimeInfo } from './binding.js';

// Loading uvscope starts recording on this thread's loop.
const native = binding();

/** What the running Node and libuv offer (libuv version, whether `events` can be measured). */
export function runtime(): RuntimeInfo {
  return native.runtime();
}

export type { RuntimeInfo } from './binding.js';
export { UvscopeError, type UvscopeErrorCode } from './errors.js';
