// uvscope/prometheus: uvscope's loops and thread pool on a prom-client registry (or any
// registry with prom-client's `registerMetric` contract, such as @prometheus-io/client).
// prom-client is never imported: each metric is a plain object whose `get()` returns
// finished values, histograms as `_bucket{le}`, `_sum` and `_count`. A scrape resets
// nothing, so any number of Prometheus servers scraping one registry see consistent data.
import {
  type BridgeRead,
  type BridgeThreadOptions,
  boundariesOption,
  explicitCounts,
  loopHistogramsOf,
  optionsObject,
  read,
  selection,
} from './bridge.js';
import { invalidArgType } from './errors.js';
import type { RawHistogram } from './types.js';
import { numberOption } from './validate.js';

export type { BridgeThreadOptions } from './bridge.js';

/** One sample of a metric, as prom-client's `get()` returns it. */
export interface PromSample {
  /** The sample's value (seconds for times). */
  value: number;
  /** Its labels. */
  labels: Record<string, string | number>;
  /** Set for histogram samples: `<name>_bucket`, `<name>_sum`, `<name>_count`. */
  metricName?: string;
}

/** What describes a metric, in prom-client's terms. */
export interface PromMetricInfo {
  /** The metric family's name (counters end in `_total`; prom-client drops it in OpenMetrics mode). */
  name: string;
  /** The `# HELP` text. */
  help: string;
  /** The `# TYPE`. */
  type: 'counter' | 'gauge' | 'histogram';
  /** How prom-client's cluster registry combines workers' values. */
  aggregator: 'sum' | 'average' | 'max';
}

/** What a metric's `get()` resolves to, as prom-client's `MetricObjectWithValues`. */
export interface PromMetricValues extends PromMetricInfo {
  /** The samples of one scrape. */
  values: PromSample[];
}

/** A metric object as prom-client's registry takes it (`registry.registerMetric(metric)`). */
export interface PromMetric extends PromMetricInfo {
  /** Label names its samples carry (histograms add `le`). */
  labelNames: string[];
  /** The samples now: one uvscope read shared by every metric of a scrape. */
  get(): Promise<PromMetricValues>;
  /** Does nothing: uvscope's numbers are cumulative and shared by every reader. */
  reset(): void;
}

/**
 * The part of a prom-client `Registry` uvscope uses. prom-client types `registerMetric`'s
 * argument as its own metric classes; the registry needs only `name`, `help`, `type`,
 * `get()` and `reset()` at run time, which uvscope's `PromMetric` objects have, so the
 * parameter is left open here (`never`) for any registry's own type to fit.
 */
export interface PromRegistryLike {
  registerMetric(metric: never): void;
}

/** Options of `registerUvscopeMetrics()`. */
export interface UvscopeMetricsOptions extends BridgeThreadOptions {
  /**
   * Histogram bucket upper bounds (`le`), seconds: `'default'` (10 µs … 10 s in 1-2.5-5
   * steps, 19 buckets), `'exact'` (on uvscope's own bucket edges, four per power of two from
   * 8.2 µs to 17.2 s, 85 buckets: lossless) or an ascending array.
   */
  buckets?: 'default' | 'exact' | number[];
  /**
   * `nodejs_eventloop_utilization_ratio` covers at least this much time, ms (default 10000;
   * 100 to 3600000): from the latest earlier scrape at least that old (or the oldest kept).
   * It depends on no one scraper: two servers see the same window.
   */
  utilizationWindowMs?: number;
}

interface Sampled {
  at: number;
  active: Map<number, number>;
  idle: Map<number, number>;
}

/**
 * Registers uvscope's metrics on `registry` (a prom-client `Registry`, e.g. `register`) and
 * returns them. Names: `nodejs_eventloop_time_seconds_total{thread_id,state}`,
 * `nodejs_eventloop_utilization_ratio{thread_id}`, `uvscope_eventloop_iterations_total{thread_id}`,
 * `uvscope_eventloop_events_total{thread_id}`, the histograms
 * `uvscope_eventloop_phase_duration_seconds{thread_id,phase}`,
 * `uvscope_eventloop_iteration_busy_time_seconds{thread_id}`,
 * `uvscope_eventloop_iteration_wait_time_seconds{thread_id}` and
 * `uvscope_threadpool_work_wait_time_seconds`, and the gauges
 * `uvscope_handle_count{thread_id,type}`, `uvscope_threadpool_thread_count{state}`,
 * `uvscope_threadpool_queue_length` (with tracking on).
 */
export function registerUvscopeMetrics(registry: PromRegistryLike, options?: UvscopeMetricsOptions): PromMetric[] {
  if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function') {
    throw invalidArgType('registry', 'a prom-client Registry (an object with registerMetric())', registry);
  }
  const opts = optionsObject(options);
  const sel = selection(opts);
  const boundaries = boundariesOption(opts.buckets, 'options.buckets');
  const windowMs = numberOption(opts.utilizationWindowMs, 'options.utilizationWindowMs', 10_000, { min: 100, max: 3_600_000 });
  const les = boundaries.map((b) => String(b));

  // Every get() of one scrape runs in the same synchronous stretch (the registry calls them
  // all before awaiting any): they share one read, dropped at the next microtask.
  let current: BridgeRead | undefined;
  const snapshot = (): BridgeRead => {
    if (current === undefined) {
      current = read(sel);
      record(current);
      queueMicrotask(() => (current = undefined));
    }
    return current;
  };

  const history: Sampled[] = [];
  let baseline: Sampled | undefined;
  function record(r: BridgeRead) {
    const s: Sampled = { at: r.timestamp, active: new Map(), idle: new Map() };
    for (const t of r.loops) {
      s.active.set(t.threadId, t.activeMs);
      s.idle.set(t.threadId, t.idleMs);
    }
    // A sample per sixteenth of the window at most: the history stays short however often it is scraped.
    const last = history[history.length - 1];
    if (last === undefined || r.timestamp - last.at >= windowMs / 16) history.push(s);
    // Keep the latest sample at least windowMs old as the baseline, and what came after it.
    while (history.length > 1 && r.timestamp - history[1]!.at >= windowMs) history.shift();
    baseline = history.length > 1 ? history[0] : undefined;
  }

  const histogramSamples = (name: string, h: RawHistogram, labels: Record<string, string | number>, out: PromSample[]) => {
    const counts = explicitCounts(h, boundaries);
    let cumulative = 0;
    for (let i = 0; i < les.length; i++) {
      cumulative += counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: les[i]! }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
    out.push({ metricName: `${name}_sum`, labels, value: h.sumNs / 1e9 });
    out.push({ metricName: `${name}_count`, labels, value: h.count });
  };

  const metric = (
    name: string,
    help: string,
    type: PromMetric['type'],
    aggregator: PromMetric['aggregator'],
    labelNames: string[],
    samples: (r: BridgeRead, name: string) => PromSample[],
  ): PromMetric => {
    const m: PromMetric = {
      name,
      help,
      type,
      aggregator,
      labelNames,
      // Read `m.name`: prom-client renames counters in OpenMetrics mode (drops `_total`).
      get: async () => ({ name: m.name, help, type, aggregator, values: samples(snapshot(), m.name) }),
      reset() {},
    };
    return m;
  };

  const loops = (r: BridgeRead) => r.loops.map((t) => ({ t, labels: { thread_id: t.threadId } }));
  const metrics: PromMetric[] = [
    metric('nodejs_eventloop_time_seconds_total', 'Time the event loop has spent in each state (active: not blocked waiting for events).', 'counter', 'sum', ['thread_id', 'state'], (r) =>
      loops(r).flatMap(({ t, labels }) => [
        { labels: { ...labels, state: 'active' }, value: t.activeMs / 1e3 },
        { labels: { ...labels, state: 'idle' }, value: t.idleMs / 1e3 },
      ]),
    ),
    metric('nodejs_eventloop_utilization_ratio', 'Event loop utilization (active / wall time) over the last utilizationWindowMs or more (since recording started until then).', 'gauge', 'average', ['thread_id'], (r) =>
      loops(r).map(({ t, labels }) => {
        const active = t.activeMs - (baseline?.active.get(t.threadId) ?? 0);
        const total = active + t.idleMs - (baseline?.idle.get(t.threadId) ?? 0);
        return { labels, value: total > 0 ? Math.min(1, Math.max(0, active / total)) : 0 };
      }),
    ),
    metric('uvscope_eventloop_iterations_total', 'Event loop iterations completed.', 'counter', 'sum', ['thread_id'], (r) =>
      loops(r).map(({ t, labels }) => ({ labels, value: t.iterations })),
    ),
    metric('uvscope_eventloop_events_total', 'I/O events processed by the event loop (libuv >= 1.45).', 'counter', 'sum', ['thread_id'], (r) =>
      loops(r).flatMap(({ t, labels }) => (t.events === null ? [] : [{ labels, value: t.events }])),
    ),
    metric('uvscope_eventloop_iteration_busy_time_seconds', 'Per loop iteration: its duration less the time blocked waiting for events.', 'histogram', 'sum', ['thread_id'], (r, name) => {
      const out: PromSample[] = [];
      for (const { t, labels } of loops(r)) histogramSamples(name, loopHistogramsOf(t).busy, labels, out);
      return out;
    }),
    metric('uvscope_eventloop_iteration_wait_time_seconds', 'Per loop iteration: the time blocked in the kernel waiting for events.', 'histogram', 'sum', ['thread_id'], (r, name) => {
      const out: PromSample[] = [];
      for (const { t, labels } of loops(r)) histogramSamples(name, loopHistogramsOf(t).wait, labels, out);
      return out;
    }),
    metric(
      'uvscope_eventloop_phase_duration_seconds',
      'Per loop iteration: time in each phase (poll: I/O callbacks; check: setImmediate; timers: timers, close and pending callbacks).',
      'histogram',
      'sum',
      ['thread_id', 'phase'],
      (r, name) => {
        const out: PromSample[] = [];
        for (const { t, labels } of loops(r)) {
          for (const [phase, h] of loopHistogramsOf(t).phases) histogramSamples(name, h, { ...labels, phase }, out);
        }
        return out;
      },
    ),
    metric('uvscope_handle_count', "Handles on this thread's loop by libuv type (uvscope's own left out).", 'gauge', 'sum', ['thread_id', 'type'], (r) =>
      Object.entries(r.handles.summary.byType).map(([type, value]) => ({ labels: { thread_id: r.handles.threadId, type }, value })),
    ),
  ];
  if (sel.threadpool) {
    metrics.push(
      metric('uvscope_threadpool_thread_count', 'libuv thread-pool threads by state.', 'gauge', 'sum', ['state'], (r) => {
        const stats = r.pool?.stats;
        if (stats === undefined || stats.busy === null || !stats.started) return [];
        return [
          { labels: { state: 'busy' }, value: stats.busy },
          { labels: { state: 'idle' }, value: Math.max(0, stats.size - stats.busy) },
        ];
      }),
      metric('uvscope_threadpool_queue_length', 'Work items waiting for a libuv thread-pool thread (with configureThreadpool({ track: true })).', 'gauge', 'sum', [], (r) =>
        r.pool?.stats.queued == null ? [] : [{ labels: {}, value: r.pool.stats.queued }],
      ),
      metric('uvscope_threadpool_work_wait_time_seconds', 'How long the probe work item waited for a libuv thread-pool thread.', 'histogram', 'sum', [], (r, name) => {
        const out: PromSample[] = [];
        if (r.pool !== null) histogramSamples(name, r.pool.histograms.queueWait, {}, out);
        return out;
      }),
    );
  }
  for (const m of metrics) registry.registerMetric(m as never);
  return metrics;
}
