// uvscope/otel: uvscope's loops and thread pool into the OpenTelemetry SDK. Two ways in:
// a MetricProducer (real histograms, for the app owner who configures the SDK's readers)
// and an instrumentation on the metrics API (observable instruments only: histograms become
// windowed quantile gauges). Neither imports the SDK or the API at load: the types below are
// structural, and the global API is required only when an instrumentation is enabled
// without a meter provider.
import {
  type BridgeRead,
  type BridgeSelection,
  type BridgeThreadOptions,
  boundariesOption,
  epochMs,
  explicitCounts,
  exponentialBuckets,
  type CompactHistogram,
  type LoopState,
  compact,
  loopHistogramsOf,
  loopState,
  optionsObject,
  quantileNs,
  read,
  selection,
  subtractRaw,
} from './bridge.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import type { RawHistogram } from './types.js';
import { numberOption } from './validate.js';

export type { BridgeThreadOptions } from './bridge.js';

const VERSION: string = (require('../package.json') as { version: string }).version;
const SCOPE = { name: 'uvscope', version: VERSION };

// The SDK's enums, by value (sdk-metrics 1.x and 2.x): DataPointType, AggregationTemporality, ValueType.
const HISTOGRAM = 0;
const EXPONENTIAL_HISTOGRAM = 1;
const GAUGE = 2;
const SUM = 3;
const DELTA = 0;
const CUMULATIVE = 1;
const DOUBLE = 1;
const INT = 0;

/** `[seconds, nanoseconds]` since the Unix epoch, as OpenTelemetry's `HrTime`. */
export type OtelHrTime = [number, number];

/** Attributes of one data point. */
export type OtelAttributes = Record<string, string | number>;

/** One data point, shaped as `@opentelemetry/sdk-metrics`' `DataPoint<T>`. */
export interface OtelDataPoint<T> {
  /** Start of the series (cumulative: recording start on the thread) or of the delta window. */
  startTime: OtelHrTime;
  /** When uvscope was read. */
  endTime: OtelHrTime;
  /** `thread.id` and the metric's own attributes. */
  attributes: OtelAttributes;
  /** The value: a number, or a histogram. */
  value: T;
}

/** An explicit-bucket histogram value, as the SDK's `Histogram`. */
export interface OtelHistogramValue {
  /** `boundaries` in seconds; `counts` per bucket (length `boundaries.length + 1`), not cumulative. */
  buckets: { boundaries: number[]; counts: number[] };
  /** Sum of the values, s. */
  sum: number;
  /** Values recorded. */
  count: number;
  /** Smallest value, s. */
  min: number;
  /** Largest value, s. */
  max: number;
}

/** An exponential histogram value, as the SDK's `ExponentialHistogram`. */
export interface OtelExponentialHistogramValue {
  /** Values recorded: `zeroCount` plus the positive bucket counts. */
  count: number;
  /** Sum of the values, s. */
  sum: number;
  /** Smallest value, s. */
  min: number;
  /** Largest value, s. */
  max: number;
  /** Bucket i covers (base^i, base^(i+1)] s, base = 2^(2^-scale); 6 at most. */
  scale: number;
  /** Values of 0 ns. */
  zeroCount: number;
  /** Counts of buckets `offset`, `offset + 1`, ... */
  positive: { offset: number; bucketCounts: number[] };
  /** Always empty: durations are not negative. */
  negative: { offset: number; bucketCounts: number[] };
}

/** One metric, shaped as the SDK's `MetricData` (descriptor, temporality, points). */
export type OtelMetricData =
  | { descriptor: OtelDescriptor; aggregationTemporality: 0 | 1; dataPointType: 3; isMonotonic: boolean; dataPoints: OtelDataPoint<number>[] }
  | { descriptor: OtelDescriptor; aggregationTemporality: 0 | 1; dataPointType: 2; dataPoints: OtelDataPoint<number>[] }
  | { descriptor: OtelDescriptor; aggregationTemporality: 0 | 1; dataPointType: 0; dataPoints: OtelDataPoint<OtelHistogramValue>[] }
  | { descriptor: OtelDescriptor; aggregationTemporality: 0 | 1; dataPointType: 1; dataPoints: OtelDataPoint<OtelExponentialHistogramValue>[] };

/** A metric's name, description, unit and value type (0 int, 1 double), as the SDK's `MetricDescriptor`. */
export interface OtelDescriptor {
  /** The metric's name (BRIDGES.md). */
  name: string;
  /** What it measures. */
  description: string;
  /** UCUM unit: `s`, `1`, `{iteration}`... */
  unit: string;
  /** 0 int, 1 double (the API's `ValueType`). */
  valueType: 0 | 1;
}

/** What `collect()` resolves to, shaped as the SDK's `CollectionResult`. */
export interface OtelCollectionResult {
  /** One instrumentation scope, `uvscope`, holding every metric of the read. */
  resourceMetrics: {
    /**
     * Always the empty-attributes placeholder: a reader keeps only a producer's
     * `scopeMetrics` and puts them under its own resource. Typed loosely so the producer is
     * assignable to the SDK's `MetricProducer` without uvscope depending on
     * `@opentelemetry/resources`.
     */
    resource: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    /** The `uvscope` scope and its metrics. */
    scopeMetrics: { scope: { name: string; version: string }; metrics: OtelMetricData[] }[];
  };
  /** Always empty: a failed read rejects instead. */
  errors: unknown[];
}

/** Options of `UvscopeMetricProducer`. */
export interface UvscopeMetricProducerOptions extends BridgeThreadOptions {
  /**
   * Histograms as `'exponential'` (default: base-2 exponential buckets, scale up to 6) or
   * `'explicit'` buckets (`boundaries`), e.g. for the OTel Prometheus exporter, which drops
   * exponential histograms.
   */
  aggregation?: 'exponential' | 'explicit';
  /** Exponential only: the most buckets per histogram (default 160, the SDK's default); 2 to 16384. */
  maxSize?: number;
  /**
   * Explicit only: bucket upper bounds in seconds, ascending; `'default'` (10 µs … 10 s in
   * 1-2.5-5 steps) or `'exact'` (on uvscope's own bucket edges, four per power of two from
   * 8.2 µs to 17.2 s: lossless).
   */
  boundaries?: 'default' | 'exact' | number[];
  /** `'cumulative'` (default) or `'delta'` (each collection since this producer's previous one). */
  temporality?: 'cumulative' | 'delta';
}

interface Earlier {
  loops: Map<number, LoopState>;
  handles: Map<string, number>;
  pool: { at: number; queueWait: CompactHistogram | null } | null;
  poolCounts: Map<string, number>;
}

const hrTime = (perfMs: number): OtelHrTime => {
  const ms = epochMs(perfMs);
  const s = Math.floor(ms / 1000);
  return [s, Math.min(999_999_999, Math.round((ms - s * 1000) * 1e6))];
};

/**
 * An OpenTelemetry `MetricProducer`: give it to a reader
 * (`new PeriodicExportingMetricReader({ exporter, metricProducers: [new UvscopeMetricProducer()] })`,
 * sdk-metrics >= 1.16). Each `collect()` reads uvscope's cumulative histograms and resets
 * nothing; a delta producer keeps its own previous read, so give each reader its own
 * instance and readers stay independent.
 */
export class UvscopeMetricProducer {
  readonly #sel: BridgeSelection;
  readonly #aggregation: 'exponential' | 'explicit';
  readonly #maxSize: number;
  readonly #boundaries: readonly number[];
  readonly #delta: boolean;
  #earlier: Earlier = { loops: new Map(), handles: new Map(), pool: null, poolCounts: new Map() };

  constructor(options?: UvscopeMetricProducerOptions) {
    const opts = optionsObject(options);
    this.#sel = selection(opts);
    const aggregation = opts.aggregation ?? 'exponential';
    if (aggregation !== 'exponential' && aggregation !== 'explicit') {
      throw (typeof aggregation === 'string' ? invalidArgValue : invalidArgType)('options.aggregation', "'exponential' or 'explicit'", aggregation);
    }
    this.#aggregation = aggregation;
    this.#maxSize = numberOption(opts.maxSize, 'options.maxSize', 160, { min: 2, max: 16384, integer: true });
    this.#boundaries = boundariesOption(opts.boundaries, 'options.boundaries');
    const temporality = opts.temporality ?? 'cumulative';
    if (temporality !== 'cumulative' && temporality !== 'delta') {
      throw (typeof temporality === 'string' ? invalidArgValue : invalidArgType)('options.temporality', "'cumulative' or 'delta'", temporality);
    }
    this.#delta = temporality === 'delta';
  }

  /** Reads uvscope once and returns its metrics as one instrumentation scope (`uvscope`). */
  collect(_options?: { timeoutMillis?: number }): Promise<OtelCollectionResult> {
    try {
      return Promise.resolve({
        resourceMetrics: { resource: { attributes: {} }, scopeMetrics: [{ scope: SCOPE, metrics: this.#metrics(read(this.#sel)) }] },
        errors: [],
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #metrics(r: BridgeRead): OtelMetricData[] {
    const delta = this.#delta;
    const temporality = delta ? DELTA : CUMULATIVE;
    const earlier = this.#earlier;
    const next: Earlier = { loops: new Map(), handles: new Map(), pool: null, poolCounts: new Map() };
    const end = hrTime(r.timestamp);

    const time: OtelDataPoint<number>[] = [];
    const utilization: OtelDataPoint<number>[] = [];
    const iterations: OtelDataPoint<number>[] = [];
    const events: OtelDataPoint<number>[] = [];
    const busy: OtelDataPoint<unknown>[] = [];
    const wait: OtelDataPoint<unknown>[] = [];
    const phase: OtelDataPoint<unknown>[] = [];

    for (const t of r.loops) {
      const prev = earlier.loops.get(t.threadId);
      // A thread id is never reused; a matching start confirms it is the same recorder.
      const base = prev !== undefined && prev.startTimestamp === t.startTimestamp ? prev : undefined;
      next.loops.set(t.threadId, loopState(t, delta));
      const start = hrTime(delta && base !== undefined ? base.timestamp : t.startTimestamp);
      const attributes = { 'thread.id': t.threadId };
      const sub = (now: number, before: number | undefined) => (delta ? now - (before ?? 0) : now);
      const point = <T>(value: T, extra?: OtelAttributes): OtelDataPoint<T> => ({
        startTime: start,
        endTime: end,
        attributes: extra === undefined ? attributes : { ...attributes, ...extra },
        value,
      });
      time.push(point(sub(t.activeMs, base?.activeMs) / 1e3, { 'nodejs.eventloop.state': 'active' }));
      time.push(point(sub(t.idleMs, base?.idleMs) / 1e3, { 'nodejs.eventloop.state': 'idle' }));
      // A gauge: utilization since this producer's previous read of the thread (since its start the first time).
      const windowActive = t.activeMs - (base?.activeMs ?? 0);
      const windowMs = windowActive + t.idleMs - (base?.idleMs ?? 0);
      utilization.push({ startTime: end, endTime: end, attributes, value: windowMs > 0 ? windowActive / windowMs : 0 });
      iterations.push(point(sub(t.iterations, base?.iterations)));
      if (t.events !== null) events.push(point(sub(t.events, base?.events ?? 0)));
      const h = loopHistogramsOf(t);
      const b = base?.histograms ?? undefined;
      busy.push(point(this.#histogram(h.busy, b?.[0])));
      wait.push(point(this.#histogram(h.wait, b?.[1])));
      h.phases.forEach(([name, hist], i) => {
        phase.push(point(this.#histogram(hist, b?.[2 + i]), { 'uvscope.eventloop.phase': name }));
      });
    }

    // Handles and pool counts are current values: UpDownCounters, whose delta is the change.
    const handleStart = hrTime(delta ? (this.#lastAt ?? r.timestamp) : this.#firstAt(r.timestamp));
    const updown = (key: string, value: number, map: Map<string, number>, before: Map<string, number>) => {
      map.set(key, value);
      return delta ? value - (before.get(key) ?? 0) : value;
    };
    const handles: OtelDataPoint<number>[] = [];
    const types = new Set([...Object.keys(r.handles.summary.byType), ...(delta ? [...earlier.handles.keys()] : [])]);
    for (const type of types) {
      const value = updown(type, r.handles.summary.byType[type] ?? 0, next.handles, earlier.handles);
      handles.push({
        startTime: handleStart,
        endTime: end,
        attributes: { 'thread.id': r.handles.threadId, 'uvscope.handle.type': type },
        value,
      });
    }

    const metrics: OtelMetricData[] = [
      sum('nodejs.eventloop.time', 'Cumulative duration of time the event loop has been in each state.', 's', DOUBLE, true, temporality, time),
      { descriptor: descriptor('nodejs.eventloop.utilization', 'Event loop utilization: active time over wall time since the previous collection.', '1', DOUBLE), aggregationTemporality: temporality, dataPointType: GAUGE, dataPoints: utilization },
      sum('uvscope.eventloop.iterations', 'Event loop iterations completed.', '{iteration}', INT, true, temporality, iterations),
      this.#histogramMetric('uvscope.eventloop.iteration.busy_time', 'Per loop iteration: its duration less the time blocked waiting for events.', busy),
      this.#histogramMetric('uvscope.eventloop.iteration.wait_time', 'Per loop iteration: the time blocked in the kernel waiting for events.', wait),
      this.#histogramMetric('uvscope.eventloop.phase.duration', 'Per loop iteration: time in each phase (poll: I/O callbacks; check: setImmediate; timers: timers, close and pending callbacks).', phase),
      sum('uvscope.handle.count', "Handles on the thread's loop by libuv type (uvscope's own left out).", '{handle}', INT, false, temporality, handles),
    ];
    if (events.length > 0) metrics.splice(3, 0, sum('uvscope.eventloop.events', 'I/O events processed by the event loop.', '{event}', INT, true, temporality, events));

    if (r.pool !== null) {
      const { stats, histograms } = r.pool;
      const poolStart = hrTime(delta && earlier.pool !== null ? earlier.pool.at : this.#firstAt(r.timestamp));
      const poolPoint = <T>(value: T, attributes: OtelAttributes = {}): OtelDataPoint<T> => ({ startTime: poolStart, endTime: end, attributes, value });
      if (stats.busy !== null && stats.started) {
        const busyThreads = updown('busy', stats.busy, next.poolCounts, earlier.poolCounts);
        const idleThreads = updown('idle', Math.max(0, stats.size - stats.busy), next.poolCounts, earlier.poolCounts);
        metrics.push(
          sum('uvscope.threadpool.thread.count', 'libuv thread-pool threads by state.', '{thread}', INT, false, temporality, [
            poolPoint(busyThreads, { 'uvscope.threadpool.thread.state': 'busy' }),
            poolPoint(idleThreads, { 'uvscope.threadpool.thread.state': 'idle' }),
          ]),
        );
      }
      if (stats.queued !== null) {
        metrics.push(
          sum('uvscope.threadpool.queue.length', 'Work items waiting for a libuv thread-pool thread (with tracking on).', '{work_item}', INT, false, temporality, [
            poolPoint(updown('queued', stats.queued, next.poolCounts, earlier.poolCounts)),
          ]),
        );
      }
      metrics.push(
        this.#histogramMetric('uvscope.threadpool.work.wait_time', 'How long the probe work item waited for a libuv thread-pool thread.', [
          poolPoint(this.#histogram(histograms.queueWait, earlier.pool?.queueWait ?? undefined)),
        ]),
      );
      next.pool = { at: r.timestamp, queueWait: delta ? compact(histograms.queueWait) : null };
    }

    this.#earlier = next;
    this.#lastAt = r.timestamp;
    return metrics;
  }

  #lastAt: number | undefined;
  #startAt: number | undefined;
  /** When this producer first collected: the start of its current-value series. */
  #firstAt(now: number): number {
    return (this.#startAt ??= now);
  }

  #histogram(now: RawHistogram, before: CompactHistogram | undefined): unknown {
    const h = subtractRaw(now, before);
    const s = 1e-9;
    if (this.#aggregation === 'explicit') {
      return { buckets: { boundaries: [...this.#boundaries], counts: explicitCounts(h, this.#boundaries) }, sum: h.sumNs * s, count: h.count, min: h.minNs * s, max: h.maxNs * s };
    }
    const e = exponentialBuckets(h, this.#maxSize);
    return {
      count: h.count,
      sum: h.sumNs * s,
      min: h.minNs * s,
      max: h.maxNs * s,
      scale: e.scale,
      zeroCount: e.zeroCount,
      positive: { offset: e.offset, bucketCounts: e.bucketCounts },
      negative: { offset: 0, bucketCounts: [] },
    };
  }

  #histogramMetric(name: string, description: string, dataPoints: OtelDataPoint<unknown>[]): OtelMetricData {
    return {
      descriptor: descriptor(name, description, 's', DOUBLE),
      aggregationTemporality: this.#delta ? DELTA : CUMULATIVE,
      dataPointType: this.#aggregation === 'explicit' ? HISTOGRAM : EXPONENTIAL_HISTOGRAM,
      dataPoints,
    } as OtelMetricData;
  }
}

/** The API's global meter provider; the API is an optional peer, required only here. */
function globalMeterProvider(): OtelMeterProviderLike {
  let api: { metrics: { getMeterProvider(): OtelMeterProviderLike } };
  try {
    api = require('@opentelemetry/api') as typeof api;
  } catch (cause) {
    throw invalidArgType(
      'options.meterProvider',
      'a MeterProvider when @opentelemetry/api is not installed (install it, or pass the provider)',
      undefined,
    );
  }
  return api.metrics.getMeterProvider();
}

function descriptor(name: string, description: string, unit: string, valueType: 0 | 1): OtelDescriptor {
  return { name, description, unit, valueType };
}

function sum(
  name: string,
  description: string,
  unit: string,
  valueType: 0 | 1,
  isMonotonic: boolean,
  temporality: 0 | 1,
  dataPoints: OtelDataPoint<number>[],
): OtelMetricData {
  return { descriptor: descriptor(name, description, unit, valueType), aggregationTemporality: temporality, dataPointType: SUM, isMonotonic, dataPoints };
}

// ---------------------------------------------------------------------------------------
// The metrics-API way in.

/** An observable instrument's result, as the API's `ObservableResult`/`BatchObservableResult`. */
export interface OtelBatchObservableResult {
  /** Records `value` for `instrument` with `attributes`. */
  observe(instrument: OtelObservable, value: number, attributes?: OtelAttributes): void;
}

/** An observable instrument (the API's `Observable`); uvscope only passes it back to `observe`. */
export type OtelObservable = object;

/** The parts of the API's `Meter` uvscope uses. */
export interface OtelMeterLike {
  /** Creates an observable counter. */
  createObservableCounter(name: string, options?: { description?: string; unit?: string; valueType?: number }): OtelObservable;
  /** Creates an observable gauge. */
  createObservableGauge(name: string, options?: { description?: string; unit?: string; valueType?: number }): OtelObservable;
  /** Creates an observable up-down counter. */
  createObservableUpDownCounter(name: string, options?: { description?: string; unit?: string; valueType?: number }): OtelObservable;
  /** Registers one callback that observes several instruments. */
  addBatchObservableCallback(callback: (result: OtelBatchObservableResult) => void, observables: OtelObservable[]): void;
  /** Unregisters it. */
  removeBatchObservableCallback(callback: (result: OtelBatchObservableResult) => void, observables: OtelObservable[]): void;
}

/** The parts of the API's `MeterProvider` uvscope uses. */
export interface OtelMeterProviderLike {
  /** A meter for the instrumentation scope `name`. */
  getMeter(name: string, version?: string): OtelMeterLike;
}

/** Options of `UvscopeInstrumentation`. */
export interface UvscopeInstrumentationOptions extends BridgeThreadOptions {
  /** The meter provider; default: the global one (`@opentelemetry/api`'s `metrics`), taken at `enable()`. */
  meterProvider?: OtelMeterProviderLike;
  /** Start observing at construction (default true), as OpenTelemetry instrumentations do. */
  enabled?: boolean;
}

/**
 * uvscope's metrics through the OpenTelemetry metrics API, for an app that has only the API
 * (and an SDK set up by someone else). The API has no asynchronous histogram, so each
 * histogram becomes three windowed gauges, `<name>.p50`, `<name>.p99` and `<name>.max`
 * (seconds), over the time since the previous collection of this instrumentation (with
 * several readers, the windows are cut by all of them: use `UvscopeMetricProducer` for real
 * histograms). Counters and up-down counters are cumulative; nothing is reset.
 * It has the methods `registerInstrumentations()` calls (`setMeterProvider`, `getConfig`, `enable`).
 */
export class UvscopeInstrumentation {
  /** For `registerInstrumentations()`. */
  readonly instrumentationName = 'uvscope';
  /** For `registerInstrumentations()`. */
  readonly instrumentationVersion: string = VERSION;
  readonly #sel: BridgeSelection;
  #provider: OtelMeterProviderLike | undefined;
  #registered: { meter: OtelMeterLike; callback: (result: OtelBatchObservableResult) => void; observables: OtelObservable[] } | undefined;
  #enabled = false;
  #previous: { loops: Map<number, LoopState>; queueWait: CompactHistogram | null } | undefined;
  #config: UvscopeInstrumentationOptions;

  constructor(options?: UvscopeInstrumentationOptions) {
    const opts = optionsObject(options);
    this.#sel = selection(opts);
    this.#config = { ...opts };
    if (opts.meterProvider !== undefined) this.setMeterProvider(opts.meterProvider);
    if (opts.enabled !== false) this.enable();
  }

  /** Uses `provider` from now on (re-registering the instruments if enabled). */
  setMeterProvider(provider: OtelMeterProviderLike): void {
    if (typeof provider !== 'object' || provider === null || typeof provider.getMeter !== 'function') {
      throw invalidArgType('provider', 'a MeterProvider', provider);
    }
    this.#provider = provider;
    if (this.#enabled) {
      this.#unregister();
      this.#register();
    }
  }

  /** Tracing is not used; present for `registerInstrumentations()`. */
  setTracerProvider(_provider: unknown): void {}

  /** Logging is not used; present for `registerInstrumentations()`. */
  setLoggerProvider(_provider: unknown): void {}

  /** The options given at construction. */
  getConfig(): UvscopeInstrumentationOptions {
    return { ...this.#config };
  }

  /** Accepted for `registerInstrumentations()`; thread selection is fixed at construction. */
  setConfig(_config: UvscopeInstrumentationOptions): void {}

  /** Starts observing. */
  enable(): void {
    if (this.#enabled) return;
    this.#enabled = true;
    this.#register();
  }

  /** Stops observing (the instruments stay registered on the meter, silent). */
  disable(): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    this.#unregister();
  }

  #register(): void {
    const provider = this.#provider ?? globalMeterProvider();
    const meter = provider.getMeter(SCOPE.name, SCOPE.version);
    const counter = (name: string, description: string, unit: string, valueType = INT) => meter.createObservableCounter(name, { description, unit, valueType });
    const updown = (name: string, description: string, unit: string) => meter.createObservableUpDownCounter(name, { description, unit, valueType: INT });
    const gauge = (name: string, description: string, unit: string) => meter.createObservableGauge(name, { description, unit, valueType: DOUBLE });
    const quantiles = (name: string, description: string) => ({
      p50: gauge(`${name}.p50`, `${description} Median over the window since the previous collection.`, 's'),
      p99: gauge(`${name}.p99`, `${description} 99th percentile over the window since the previous collection.`, 's'),
      max: gauge(`${name}.max`, `${description} Largest over the window since the previous collection.`, 's'),
    });
    const i = {
      time: counter('nodejs.eventloop.time', 'Cumulative duration of time the event loop has been in each state.', 's', DOUBLE),
      utilization: gauge('nodejs.eventloop.utilization', 'Event loop utilization over the window since the previous collection.', '1'),
      iterations: counter('uvscope.eventloop.iterations', 'Event loop iterations completed.', '{iteration}'),
      events: counter('uvscope.eventloop.events', 'I/O events processed by the event loop.', '{event}'),
      busy: quantiles('uvscope.eventloop.iteration.busy_time', 'Per loop iteration: its duration less the time blocked waiting for events.'),
      wait: quantiles('uvscope.eventloop.iteration.wait_time', 'Per loop iteration: the time blocked waiting for events.'),
      phase: quantiles('uvscope.eventloop.phase.duration', 'Per loop iteration: time in each phase.'),
      handles: updown('uvscope.handle.count', "Handles on the thread's loop by libuv type.", '{handle}'),
      poolThreads: updown('uvscope.threadpool.thread.count', 'libuv thread-pool threads by state.', '{thread}'),
      queue: updown('uvscope.threadpool.queue.length', 'Work items waiting for a libuv thread-pool thread (with tracking on).', '{work_item}'),
      poolWait: quantiles('uvscope.threadpool.work.wait_time', 'How long the probe work item waited for a pool thread.'),
    };
    const observables = [
      i.time, i.utilization, i.iterations, i.events, i.handles,
      ...[i.busy, i.wait, i.phase].flatMap((q) => [q.p50, q.p99, q.max]),
      ...(this.#sel.threadpool ? [i.poolThreads, i.queue, i.poolWait.p50, i.poolWait.p99, i.poolWait.max] : []),
    ];
    const s = 1e-9;
    const observeQuantiles = (result: OtelBatchObservableResult, q: ReturnType<typeof quantiles>, h: RawHistogram, attributes: OtelAttributes) => {
      if (h.count === 0) return;
      result.observe(q.p50, quantileNs(h, 0.5) * s, attributes);
      result.observe(q.p99, quantileNs(h, 0.99) * s, attributes);
      result.observe(q.max, h.maxNs * s, attributes);
    };
    const callback = (result: OtelBatchObservableResult) => {
      const r = read(this.#sel);
      const before = this.#previous?.loops ?? new Map<number, LoopState>();
      const next = new Map<number, LoopState>();
      for (const t of r.loops) {
        const b0 = before.get(t.threadId);
        const b = b0 !== undefined && b0.startTimestamp === t.startTimestamp ? b0 : undefined;
        next.set(t.threadId, loopState(t, true));
        const attributes = { 'thread.id': t.threadId };
        result.observe(i.time, t.activeMs / 1e3, { ...attributes, 'nodejs.eventloop.state': 'active' });
        result.observe(i.time, t.idleMs / 1e3, { ...attributes, 'nodejs.eventloop.state': 'idle' });
        const active = t.activeMs - (b?.activeMs ?? 0);
        const windowMs = active + t.idleMs - (b?.idleMs ?? 0);
        result.observe(i.utilization, windowMs > 0 ? active / windowMs : 0, attributes);
        result.observe(i.iterations, t.iterations, attributes);
        if (t.events !== null) result.observe(i.events, t.events, attributes);
        const h = loopHistogramsOf(t);
        const hb = b?.histograms ?? undefined;
        observeQuantiles(result, i.busy, subtractRaw(h.busy, hb?.[0]), attributes);
        observeQuantiles(result, i.wait, subtractRaw(h.wait, hb?.[1]), attributes);
        h.phases.forEach(([name, hist], k) => {
          observeQuantiles(result, i.phase, subtractRaw(hist, hb?.[2 + k]), { ...attributes, 'uvscope.eventloop.phase': name });
        });
      }
      for (const [type, n] of Object.entries(r.handles.summary.byType)) {
        result.observe(i.handles, n, { 'thread.id': r.handles.threadId, 'uvscope.handle.type': type });
      }
      if (r.pool !== null) {
        const { stats, histograms } = r.pool;
        if (stats.busy !== null && stats.started) {
          result.observe(i.poolThreads, stats.busy, { 'uvscope.threadpool.thread.state': 'busy' });
          result.observe(i.poolThreads, Math.max(0, stats.size - stats.busy), { 'uvscope.threadpool.thread.state': 'idle' });
        }
        if (stats.queued !== null) result.observe(i.queue, stats.queued);
        observeQuantiles(result, i.poolWait, subtractRaw(histograms.queueWait, this.#previous?.queueWait ?? undefined), {});
      }
      this.#previous = { loops: next, queueWait: r.pool === null ? null : compact(r.pool.histograms.queueWait) };
    };
    meter.addBatchObservableCallback(callback, observables);
    this.#registered = { meter, callback, observables };
  }

  #unregister(): void {
    const reg = this.#registered;
    if (reg === undefined) return;
    reg.meter.removeBatchObservableCallback(reg.callback, reg.observables);
    this.#registered = undefined;
    this.#previous = undefined;
  }
}
