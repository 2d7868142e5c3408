// threadpool(): the libuv thread pool — its size, busy threads, queued work and how long
// work waits for a thread. The README's thread-pool section says which numbers are exact where.
import { createHook, type AsyncHook } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

import type { NativeBinding } from './binding.js';
import { type HistogramImage, emptyImage, rawHistogram, readImages, windowDistribution } from './distribution.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import type { ThreadpoolHistograms, ThreadpoolInFlight, ThreadpoolStats, ThreadpoolThread } from './types.js';
import { booleanOption, numberOption, optionsObject } from './validate.js';

/** Options of `configureThreadpool()`; each one left out keeps its current value. */
export interface ThreadpoolOptions {
  /**
   * How often this thread's probe submits its no-op work item, ms. Default 100; 0 stops
   * the probe; 1 to 3600000. The probe only runs while this thread's loop is iterating.
   */
  probeIntervalMs?: number;
  /**
   * Count this thread's in-flight fs, dns and crypto requests with async_hooks, which
   * gives `queued` and `inFlight`. Default false: it installs a promise hook, which slows
   * promise-heavy code (the README gives the measured cost).
   */
  track?: boolean;
}

/** The settings in force after `configureThreadpool()`. */
export interface ThreadpoolSettings {
  probeIntervalMs: number;
  track: boolean;
}

const NS_TO_MS = 1e-6;
const MAX_INTERVAL_MS = 3_600_000;

// Tracked kinds, in the order of the native counters.
const FS = 0;
const DNS = 1;
const CRYPTO = 2;

/** async_hooks resource types of requests that run on the pool, by kind. */
const KIND_OF_TYPE = new Map<string, number>([
  ['FSREQCALLBACK', FS],
  ['FSREQPROMISE', FS],
  ['FILEHANDLECLOSEREQ', FS],
  ['GETADDRINFOREQWRAP', DNS],
  ['GETNAMEINFOREQWRAP', DNS],
  ...[
    'PBKDF2REQUEST',
    'SCRYPTREQUEST',
    'RANDOMBYTESREQUEST',
    'RANDOMPRIMEREQUEST',
    'CHECKPRIMEREQUEST',
    'KEYGENREQUEST',
    'KEYPAIRGENREQUEST',
    'KEYEXPORTREQUEST',
    'DERIVEBITSREQUEST',
    'HASHREQUEST',
    'CIPHERREQUEST',
    'SIGNREQUEST',
    'VERIFYREQUEST',
    'HKDFREQUEST',
    'SECRETKEYGENREQUEST',
  ].map((type): [string, number] => [type, CRYPTO]),
]);

/** A raw read kept per snapshot, so a later call can compute the window. */
interface RawRead {
  hrNs: number;
  images: HistogramImage[]; // queueWait, callbackDelay, cpuWait
  cpuNs: Map<number, number>;
}

/**
 * In-flight accounting of pool-backed requests through async_hooks: `init` counts a
 * request, its `before` (the callback starting: the work is done) uncounts it. Crypto jobs
 * also run synchronously (`pbkdf2Sync`, `randomFillSync`) with the same resource type and
 * never call back; an asynchronous job has its `ondone` set in the same tick, so crypto
 * jobs are counted in a microtask, once that can be told.
 */
function makeTracker(native: NativeBinding) {
  const live = new Map<number, number>(); // asyncId -> kind
  let pendingCrypto: [number, { ondone?: unknown }][] = [];
  let hook: AsyncHook | undefined;

  const settleCrypto = () => {
    const jobs = pendingCrypto;
    pendingCrypto = [];
    for (const [id, resource] of jobs) {
      if (typeof resource.ondone === 'function' && hook !== undefined) {
        live.set(id, CRYPTO);
        native.threadpoolTrack(CRYPTO, 1);
      }
    }
  };

  const callbacks = {
    init(asyncId: number, type: string, _trigger: number, resource: object) {
      const kind = KIND_OF_TYPE.get(type);
      if (kind === undefined) return;
      if (kind === CRYPTO) {
        if (pendingCrypto.push([asyncId, resource as { ondone?: unknown }]) === 1) queueMicrotask(settleCrypto);
        return;
      }
      live.set(asyncId, kind);
      native.threadpoolTrack(kind, 1);
    },
    before(asyncId: number) {
      const kind = live.get(asyncId);
      if (kind === undefined) return;
      live.delete(asyncId);
      native.threadpoolTrack(kind, -1);
    },
  };

  return {
    get enabled() {
      return hook !== undefined;
    },
    set(enabled: boolean) {
      if (enabled === (hook !== undefined)) return;
      if (enabled) {
        hook = createHook(callbacks).enable();
        return;
      }
      hook?.disable();
      hook = undefined;
      for (const kind of live.values()) native.threadpoolTrack(kind, -1);
      live.clear();
      pendingCrypto = [];
    },
  };
}

export function makeThreadpool(native: NativeBinding) {
  const layout = native.threadpoolLayout;
  const histogram = native.histogramLayout;
  const buffer = new Float64Array(layout.size);
  const threadBuffer = new Float64Array(layout.threadSize * layout.maxThreads);
  const offsetMs = performance.now() - Number(process.hrtime.bigint()) * NS_TO_MS;
  const raws = new WeakMap<ThreadpoolStats, RawRead>();
  const tracker = makeTracker(native);
  let probeIntervalMs = layout.defaultPeriodNs * NS_TO_MS;

  const start: RawRead = {
    hrNs: Number(process.hrtime.bigint()),
    images: Array.from({ length: layout.images }, () => emptyImage(histogram)),
    cpuNs: new Map(),
  };

  function configureThreadpool(options?: ThreadpoolOptions): ThreadpoolSettings {
    const opts = optionsObject(options);
    const interval = numberOption(opts.probeIntervalMs, 'options.probeIntervalMs', probeIntervalMs, {
      min: 0,
      max: MAX_INTERVAL_MS,
    });
    const track = booleanOption(opts.track, 'options.track', tracker.enabled);
    if (interval !== 0 && interval < 1) {
      throw invalidArgValue('options.probeIntervalMs', '0 or from 1 to 3600000', interval);
    }
    native.threadpoolConfigure(Math.round(interval / NS_TO_MS));
    probeIntervalMs = interval;
    tracker.set(track);
    return { probeIntervalMs, track };
  }

  function threadpool(since?: ThreadpoolStats): ThreadpoolStats {
    let base = start;
    if (since !== undefined) {
      const earlier = typeof since === 'object' && since !== null ? raws.get(since) : undefined;
      if (earlier === undefined) {
        throw invalidArgType('since', 'a ThreadpoolStats returned by threadpool() or loopStats() on this thread', since);
      }
      base = earlier;
    }

    native.threadpoolRead(buffer);
    const hrNs = buffer[0]!;
    const images = readImages(histogram, buffer, layout.header, layout.images);
    const [known, idleWaiters] = native.threadpoolThreads(threadBuffer);
    const started = buffer[10] === 1 || known > 0;
    const configuredSize = buffer[6]!;
    const trackedByKind = [buffer[7]!, buffer[8]!, buffer[9]!];

    // Pool threads from /proc (Linux): who they are, whether each is busy, CPU time.
    const windowMs = (hrNs - base.hrNs) * NS_TO_MS;
    const cpuNs = new Map<number, number>();
    let threads: ThreadpoolThread[] | null = null;
    let threadBusy: number | null = null;
    if (known > 0) {
      threads = [];
      threadBusy = 0;
      for (let i = 0; i < known; i++) {
        const tid = threadBuffer[i * layout.threadSize]!;
        const busyFlag = threadBuffer[i * layout.threadSize + 1]!;
        const cpu = threadBuffer[i * layout.threadSize + 2]!;
        const before = base.cpuNs.get(tid);
        if (!Number.isNaN(cpu)) cpuNs.set(tid, cpu);
        threads.push({
          tid,
          busy: Number.isNaN(busyFlag) ? null : busyFlag === 1,
          cpuMs: Number.isNaN(cpu) ? null : cpu * NS_TO_MS,
          utilization:
            since === undefined || before === undefined || Number.isNaN(cpu) || windowMs <= 0
              ? null
              : Math.min(1, Math.max(0, ((cpu - before) * NS_TO_MS) / windowMs)),
        });
        if (threadBusy !== null) threadBusy = Number.isNaN(busyFlag) ? null : threadBusy + busyFlag;
      }
    }
    // On libuv >= 1.50 every pool thread is known by name; before, idle threads are found
    // by what they wait on, so the size less the idle ones is exact once that is known.
    const size = known > configuredSize ? known : configuredSize;
    let busy: number | null = null;
    let busySource: ThreadpoolStats['busySource'] = null;
    if (started && known === size && threadBusy !== null) {
      busy = threadBusy;
      busySource = 'threads';
    } else if (started && idleWaiters >= 0 && idleWaiters <= size) {
      busy = size - idleWaiters;
      busySource = 'threads';
    }

    let inFlight: ThreadpoolInFlight | null = null;
    let queued: number | null = null;
    if (tracker.enabled) {
      const [fs, dns, crypto] = trackedByKind.map((n) => Math.max(0, n)) as [number, number, number];
      const total = fs + dns + crypto;
      inFlight = { total, fs, dns, crypto };
      if (busy === null) {
        busy = Math.min(total, size);
        busySource = 'tracking';
      }
      // With every thread idle nothing waits for one (an idle thread takes the next item at
      // once): the requests in flight are done and wait for the loop to run their callbacks,
      // which a blocked loop delays. Only all idle: a thread working inside a lock reads as
      // waiting too (seen under ASan, whose allocator locks), so one idle-looking thread
      // beside work in flight proves nothing.
      queued = busySource === 'threads' && busy === 0 ? 0 : Math.max(0, total - busy);
    }

    const dist = (i: number) => windowDistribution(histogram, images[i]!, base === start ? undefined : base.images[i], NS_TO_MS);
    const stats: ThreadpoolStats = {
      timestamp: hrNs * NS_TO_MS + offsetMs,
      size,
      started,
      busy,
      queued,
      busySource,
      queueWait: dist(0),
      callbackDelay: dist(1),
      cpuWait: dist(2),
      pendingWaitMs: buffer[4]! * NS_TO_MS,
      inFlight,
      threads,
    };
    raws.set(stats, { hrNs, images, cpuNs });
    return stats;
  }

  /** The pool's raw cumulative histograms (what the bridges export). */
  function threadpoolHistograms(): ThreadpoolHistograms {
    native.threadpoolRead(buffer);
    const images = readImages(histogram, buffer, layout.header, layout.images);
    return {
      timestamp: buffer[0]! * NS_TO_MS + offsetMs,
      queueWait: rawHistogram(histogram, images[0]!),
      callbackDelay: rawHistogram(histogram, images[1]!),
      cpuWait: rawHistogram(histogram, images[2]!),
    };
  }

  return { threadpool, configureThreadpool, threadpoolHistograms };
}
