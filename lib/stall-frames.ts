// The main thread's side of a stall capture: the function the capture worker's one
// Runtime.evaluate calls. It only reads: the stack (through Error.captureStackTrace with
// prepareStackTrace and stackTraceLimit saved and restored), the loop's iteration under way
// and the time it ran.
import * as inspector from 'node:inspector';

import type { NativeBinding } from './binding.js';
import type { StallFrame } from './types.js';

import { workerData } from 'node:worker_threads';

/** workerData of uvscope's capture worker: the CLI's reporter and listings leave it out. */
export const CAPTURE_WORKER_DATA = { uvscopeStallCapture: true } as const;

/** Whether this thread is uvscope's capture worker. */
export function isCaptureWorker(): boolean {
  return (workerData as { uvscopeStallCapture?: unknown } | null | undefined)?.uvscopeStallCapture === true;
}

/** The Symbol.for() key the capture expression looks up on globalThis. */
export const CAPTURE_KEY = 'uvscope.stallCapture';

const MAX_FRAMES = 48;

/** Installs the capture function (non-enumerable, on globalThis) for this thread. */
export function installCapture(native: NativeBinding): void {
  const key = Symbol.for(CAPTURE_KEY);
  if (Object.prototype.hasOwnProperty.call(globalThis, key)) return;
  const capture = function uvscopeStallCapture(): string {
    // A debugger client is attached: the stack would be its breakpoint's, not a stall's.
    if (inspector.url() !== undefined) return JSON.stringify({ unavailable: true });
    const landedHrNs = Number(process.hrtime.bigint());
    const iteration = native.stallLiveIndex();
    const savedPrepare = Error.prepareStackTrace;
    const savedLimit = Error.stackTraceLimit;
    let frames: StallFrame[] = [];
    try {
      Error.stackTraceLimit = MAX_FRAMES + 1;
      Error.prepareStackTrace = (_error, sites) =>
        sites.map((site) => ({
          functionName: site.getFunctionName() ?? '',
          url: site.getScriptNameOrSourceURL() ?? site.getFileName() ?? '',
          line: site.getLineNumber() ?? 0,
          column: site.getColumnNumber() ?? 0,
        }));
      const holder: { stack?: StallFrame[] } = {};
      Error.captureStackTrace(holder, uvscopeStallCapture);
      frames = holder.stack ?? [];
    } finally {
      Error.prepareStackTrace = savedPrepare;
      Error.stackTraceLimit = savedLimit;
    }
    // The evaluated expression itself is the first frame: anonymous, no script.
    if (frames.length > 0 && frames[0]!.url === '' && frames[0]!.functionName === '') frames = frames.slice(1);
    return JSON.stringify({ iteration, landedHrNs, frames: frames.slice(0, MAX_FRAMES) });
  };
  Object.defineProperty(globalThis, key, { value: capture, enumerable: false, configurable: true, writable: false });
}
