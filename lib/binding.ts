// The ONLY file that loads the native addon. Everything else in lib/ receives a
// NativeBinding as a parameter, so a test can hand it a fake.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { HistogramLayout } from './distribution.js';
import type { LoopProbeInfo } from './loop.js';
import { UvscopeError } from './errors.js';
import type { StallRecord } from './types.js';

/** What the running Node and libuv offer, as the addon reports it. */
export interface NativeRuntimeInfo {
  /** `uv_version_string()` of the libuv inside this Node. */
  uvVersion: string;
  /** `uv_version()`: 0xMMmmpp. */
  uvVersionHex: number;
  /** The Node-API version the addon was built for. */
  napiVersion: number;
  /** Whether `uv_metrics_info` (libuv >= 1.45) exists here; without it `events` is null. */
  metricsInfo: boolean;
  /** Whether this thread's loop is the process's main loop (false in a worker). */
  mainLoop: boolean;
}

/** What the running Node and libuv offer, and how the loop probe measures on this thread. */
export interface RuntimeInfo extends NativeRuntimeInfo, LoopProbeInfo {}

/** Layout of handlesWalk()/handlesCount() output (native/handle_walker.cc). */
export interface HandlesLayout {
  /** Doubles before the first record: count, pool bytes needed, active requests, reserved. */
  header: number;
  /** Doubles per handle record. */
  stride: number;
  /** Doubles before the per-type counts in handlesCount() output: total, active, referenced, active requests. */
  countHeader: number;
  /** Length handlesCount() needs. */
  countSize: number;
  /** `uv_handle_type_name(id)` of the running libuv for each type id, null where it has none. */
  typeNames: (string | null)[];
  /** Record field offsets. */
  fields: Record<string, number>;
  /** Flag and option bits. */
  bits: Record<string, number>;
}

/** A finished stall episode as the watchdog hands it over (times ns; lib/stalls.ts converts). */
export interface NativeStallRecord {
  episode: number;
  threadId: number;
  iteration: number;
  /** Probe clock. */
  startNs: number;
  blockedNs: number;
  busyNs: number | null;
  phase: StallRecord['phase'];
  capture: StallRecord['capture'];
  /** JSON of the frames. */
  stack: string | null;
  landedAfterNs: number | null;
  thread: StallRecord['thread'];
}

/** The native addon's exports. */
export interface NativeBinding {
  runtime(): NativeRuntimeInfo;
  /** Bucket layout of every native histogram. */
  histogramLayout: HistogramLayout;
  /** Records `values` into a fresh native histogram and returns its image (for tests). */
  histogramOf(values: Float64Array): Float64Array;

  /** Layout of loopRead()'s output, of the iteration ring and of loopReadThreads()' output. */
  loopLayout: {
    header: number;
    images: number;
    size: number;
    ringSize: number;
    slotSize: number;
    /** Doubles before the first loopReadThreads() record: count, doubles needed. */
    threadsHeader: number;
    /** Doubles before a loopReadThreads() record's data: serial, flags. */
    threadRecordHeader: number;
  };
  /**
   * Fills `out` (loopLayout.size doubles): [clock kind, clock now ns, uv_hrtime now ns,
   * recording start ns, iterations, idle ns, events, events waiting (NaN if unknown),
   * idle-read mode, ended (0/1), threadId, tid (Linux thread id, 0 elsewhere), live index
   * (the iteration under way, 0 for none or ended), live busy ns (ended: busy ns of the
   * iteration it ended inside, 0 if between iterations), waiting (1 in the poll wait now,
   * 0 not, -1 unknown), live start ns (probe clock), ended: busy ns of the last completed
   * iteration (0 while it runs)] then the busy, poll, pollWait, check, timers histograms.
   */
  loopRead(out: Float64Array): void;
  /** Copies ring records from `cursor` into `out`; returns [count, nextCursor, dropped, clockNowNs, hrNowNs]. */
  loopReadIterations(cursor: number, out: Float64Array): [number, number, number, number, number];
  /** Tells the recorder its worker_threads threadId. */
  loopSetThreadId(threadId: number): void;
  /**
   * Reads every recorder in the process into `out` (reused; nothing is allocated):
   * [count, doubles needed], then per recorder [serial (process-unique, ascending), flags
   * (1 current, 2 ended, 4 data omitted), its loopRead() data unless omitted]. Recorders whose
   * serial is in `known` (ascending; ended ones the caller holds) are listed without data.
   * Records that do not fit are counted in `needed`, not written: grow `out` and read again.
   */
  loopReadThreads(out: Float64Array, known: Float64Array): void;
  /**
   * What the kernel says a thread of this process is doing (Linux /proc), or null where it
   * cannot say: `state` from its stat letter, `syscall` the call it is blocked in (null when
   * running or not in one).
   */
  threadKernelState(tid: number): { state: 'running' | 'sleeping' | 'disk' | 'other'; syscall: string | null; cpuMs: number | null } | null;
  /** The loading thread's Linux thread id (0 elsewhere). */
  currentTid: number;
  /** Turns the iteration ring on or off with a busy-time filter; returns the ring's write cursor. */
  loopConfigureRing(enabled: boolean, minBusyNs: number): number;
  /**
   * Whether an iterations() consumer on this thread waits, and the lowest busy time (ns) a
   * waiting one accepts: the first ring record that passes disarms it and hands over.
   */
  loopRingWait(waiting: boolean, minBusyNs: number): void;
  /** The function a hand-off calls, from the timers phase of the iteration after the record's. */
  loopRingOnWake(fn: () => void): void;

  /** Layout of threadpoolRead()'s output and threadpoolThreads()' records. */
  threadpoolLayout: {
    header: number;
    images: number;
    size: number;
    threadSize: number;
    maxThreads: number;
    kinds: number;
    defaultPeriodNs: number;
  };
  /**
   * Fills `out` (threadpoolLayout.size doubles): [uv_hrtime now ns, probes submitted,
   * completed, cancelled, current probe's wait so far ns, period ns, pool size, tracked fs,
   * dns, crypto in flight, pool started (0/1), ...reserved] then the queue-wait,
   * callback-delay and CPU-wait histograms.
   */
  threadpoolRead(out: Float64Array): void;
  /** Sets the probe period (0 stops it); returns the period in force, ns. */
  threadpoolConfigure(periodNs: number): number;
  /**
   * Fills `out` with [tid, busy (0/1/NaN), cpuNs] per known pool thread; returns [known
   * threads (-1 where there is no per-thread view), threads blocked on the pool's condition
   * variable (-1 while unknown)].
   */
  threadpoolThreads(out: Float64Array): [number, number];
  /** Adds `delta` (-1, 0, 1) to the process-wide in-flight counter of `kind` (0 fs, 1 dns, 2 crypto). */
  threadpoolTrack(kind: number, delta: number): void;
  /** Layout of the handle walker's output. */
  handlesLayout: HandlesLayout;
  /**
   * uv_walk into `records` (header, then one record per handle) and `pool` (string bytes).
   * Always counts every matching handle and the pool bytes needed; writes only what fits.
   * `known`: (handle address, fd, cookie) triples, ascending by address, of TCP sockets
   * whose endpoints the caller has; a match is confirmed with one getsockopt per walk.
   */
  handlesWalk(records: Float64Array, pool: Uint8Array, options: number, known: Float64Array): void;
  /** Totals and per-type counts (handlesLayout.countSize doubles), no per-handle detail. */
  handlesCount(out: Float64Array, includeOwn: boolean): void;
  /**
   * Counts where `signum` comes from from now on (native/signal_origin.cc), chaining to the
   * handler already installed (libuv's: call after `process.on(signal)`). False where it
   * cannot (no sigaction, or no handler to chain to). Absent on Windows builds.
   */
  signalOriginWatch?(signum: number): boolean;
  /** [received from the kernel (a terminal), received from a process (kill), last sender's pid]. */
  signalOriginRead?(signum: number): [number, number, number];

  /**
   * Adds a stall consumer on this thread (starts the process's watchdog with the first):
   * `callback` runs on this thread's loop with finished episodes. Returns its id.
   */
  stallSubscribe(
    thresholdNs: number,
    callback: (records: NativeStallRecord[], dropped: number, clockNowNs: number, hrNowNs: number) => void,
    ref: boolean,
  ): number;
  /** Removes a consumer (the last one joins the watchdog thread). */
  stallUnsubscribe(id: number): void;
  /**
   * Makes this thread the capture worker: `callback` is asked for each main-thread stall
   * (`episode` -1 when there is none to capture) and given the worker threads' stalls as
   * they begin (no stack: a worker's cannot be taken), for the CLI to write at once.
   */
  stallAttachCapture(
    callback: (episode: number, iteration: number, requestHrNs: number, workerStalls: NativeStallRecord[], clockNowNs: number, hrNowNs: number) => void,
  ): void;
  /** The capture worker's answer: the main thread's iteration then, when it ran, and its frames (JSON). */
  stallCaptureResult(
    episode: number,
    iteration: number,
    landedHrNs: number,
    unavailable: boolean,
    stack: string,
  ): (NativeStallRecord & { clockNowNs: number; hrNowNs: number }) | null;
  /** The iteration this thread's loop is in now. */
  stallLiveIndex(): number;
  /** Sizes of the stall records. */
  stallLayout: { stackBytes: number; exactNs: number };
}

/** Package root: lib/ in the sources and dist/ when built sit at the same depth. */
const packageRoot = path.join(__dirname, '..');

function checkRuntime(): void {
  const versions = (typeof process === 'object' && process !== null ? process.versions : undefined) as
    | (NodeJS.ProcessVersions & { bun?: string; deno?: string })
    | undefined;
  if (versions === undefined || typeof versions.node !== 'string') {
    throw new UvscopeError('ERR_UVSCOPE_UNSUPPORTED_RUNTIME', 'uvscope: runs only on Node.js (no `process.versions.node` here)');
  }
  if (versions.bun !== undefined || versions.deno !== undefined) {
    const name = versions.bun !== undefined ? `Bun ${versions.bun}` : `Deno ${versions.deno}`;
    throw new UvscopeError('ERR_UVSCOPE_UNSUPPORTED_RUNTIME', `uvscope: runs only on Node.js; this is ${name}, whose event loop is not libuv's`);
  }
  const napi = Number(versions.napi);
  if (!(napi >= 8)) {
    throw new UvscopeError('ERR_UVSCOPE_UNSUPPORTED_RUNTIME', `uvscope: needs Node-API 8 or newer (Node >= 20); Node ${versions.node} has Node-API ${versions.napi ?? 'none'}`);
  }
}

/**
 * The message for a load refused by Node's permission model (`--permission`, Node 20:
 * `--experimental-permission`), or undefined for any other failure: the binary is there,
 * and rebuilding it would not help.
 */
function permissionDenied(cause: unknown, root: string): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const flag = given.includes('--experimental-permission') ? '--experimental-permission' : '--permission';
  if (code === 'ERR_DLOPEN_DISABLED') {
    return `uvscope: Node's permission model (${flag}) disallows native addons, and uvscope is one. ` +
      `Allow them with --allow-addons (for example \`node ${flag} --allow-addons ...\`), or run without ${flag}.`;
  }
  if (code === 'ERR_ACCESS_DENIED') {
    return `uvscope: Node's permission model (${flag}) does not let uvscope read its own package directory to find its native binary. ` +
      `Allow it with --allow-fs-read=${root} and native addons with --allow-addons, or run without ${flag}.`;
  }
  return undefined;
}

/** The prebuilds in the package (scripts/prebuildify.mjs), for the message when none fits. */
const SHIPPED_TARGETS = 'linux-x64 and linux-arm64 with glibc';

/** ' glibc' / ' musl' on Linux, decided as node-gyp-build decides which prebuild fits. */
function libcTag(): string {
  if (process.platform !== 'linux') return '';
  return ` ${process.env['LIBC'] ?? (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc')}`;
}

/** Loads the addon: a prebuild from prebuilds/<platform>-<arch>, or a local build in build/Release. */
export function loadBinding(root: string = packageRoot): NativeBinding {
  checkRuntime();
  let load: (dir: string) => unknown;
  try {
    load = require('node-gyp-build') as (dir: string) => unknown;
  } catch (cause) {
    if ((cause as { code?: unknown } | null)?.code !== 'MODULE_NOT_FOUND') throw cause;
    throw new UvscopeError('ERR_UVSCOPE_BINARY_NOT_FOUND', 'uvscope: its dependency node-gyp-build is missing; reinstall uvscope', { cause });
  }
  try {
    return load(root) as NativeBinding;
  } catch (cause) {
    const denied = permissionDenied(cause, root);
    if (denied !== undefined) throw new UvscopeError('ERR_UVSCOPE_PERMISSION_DENIED', denied, { cause });
    const message = cause instanceof Error ? cause.message : String(cause);
    // The addon's own initialisation refusing this runtime (no libuv loop, no cleanup hooks).
    if (message.startsWith('uvscope: ')) throw new UvscopeError('ERR_UVSCOPE_UNSUPPORTED_RUNTIME', message, { cause });
    const target = `${process.platform}-${process.arch}${libcTag()} (Node ${process.version}, Node-API ${process.versions.napi})`;
    const where = `${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)} or ${path.join(root, 'build', 'Release')}`;
    // node-gyp-build found nothing, or found a binary the system cannot load (say, a newer glibc).
    const what = /^No native build was found/.test(message)
      ? `no native binary for ${target} in ${where} (uvscope ships binaries for ${SHIPPED_TARGETS}).`
      : `the native binary for ${target} in ${where} did not load: ${message.split('\n')[0]}.`;
    throw new UvscopeError(
      'ERR_UVSCOPE_BINARY_NOT_FOUND',
      `uvscope: ${what} Build it from source: in the uvscope package directory run \`npx node-gyp rebuild\` ` +
        '(needs python3, make and a C++17 compiler), or `npm rebuild uvscope --foreground-scripts`.',
      { cause },
    );
  }
}

let loaded: NativeBinding | undefined;

/** The addon for this thread, loaded on first use; loading it starts recording on this thread's loop. */
export function binding(): NativeBinding {
  return (loaded ??= loadBinding());
}
