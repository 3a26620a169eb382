import { performance } from 'node:perf_hooks';
import { CardinalityGuard, registeredPackage, registerPackage, reportError, trafficWindows, unregisterPackage, type Exchange, type PackageInfo, type TrafficWindows } from '@vigil/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { renderMetrics } from './exposition';
import { registerHealthMetrics } from './health-metrics';
import { durationBuckets, metricNames, normalizeOptions, type NormalizedOptions } from './options';
import { RedView } from './red-views';
import { SeriesStore, type Series } from './series-store';
import type { MetricNames, Metrics, MetricsOptions, Percentiles, RequestRecord, Scrape } from './types';

/** Called for every recorded request (HTTP or not), for mirrors such as StatsD. */
export type RecordListener = (method: string, route: string, status: number, seconds: number, requestBytes: number, responseBytes: number) => void;

const VERSION = '0.1.0';

const TRACE_ID = /^[0-9a-f]{32}$/;

/** prom-client default gauges whose names end in `_total` (a lint error for gauges). */
const LINTED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The engine most recently made, used by `timed()` and `clusterMetrics()` when none is given. */
let lastEngine: MetricsEngine | undefined;

/** The engine `timed()` and `clusterMetrics()` use by default. */
export function defaultEngine(): MetricsEngine | undefined {
  return lastEngine;
}

/** The engine behind `createMetrics`. */
export class MetricsEngine implements Metrics {
  readonly registry: Registry;
  readonly names: MetricNames;
  /** Requests started and not yet ended. */
  inFlight = 0;
  private readonly options: NormalizedOptions;
  private readonly store: SeriesStore;
  private readonly windows: TrafficWindows;
  private readonly registered: string[] = [];
  private readonly listeners: RecordListener[] = [];
  private readonly dropped: Counter<'metric'>;
  private readonly droppedFor: string[];
  private droppedReported = 0;
  private readonly extraCount: number;
  private readonly sweeper: NodeJS.Timeout | undefined;
  /** Made on the first `timed()` call; `null` when its name was taken in the registry. */
  private timings: Histogram<'function' | 'outcome'> | null | undefined;
  private readonly timingNames = new CardinalityGuard({ limit: 200 });
  private readonly announcement: PackageInfo;
  /** The end sink, made once and shared by every exchange. */
  readonly endSink: (ex: Exchange) => void;

  constructor(options: NormalizedOptions) {
    this.options = options;
    this.windows = trafficWindows();
    const names = metricNames(options.naming, options.prefix);
    this.names = names;
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    const labelNames = [names.labelMethod, names.labelRoute, names.labelStatus, ...options.extraLabelNames];
    this.extraCount = options.extraLabelNames.length;
    const apdexT = this.windows.apdexThresholdMs / 1000;
    this.store = new SeriesStore(labelNames, durationBuckets(options.naming, options.buckets, apdexT), options.sizeBuckets, options.maxSeries, options.extraLabelLimit, options.exemplars);

    const views: RedView[] = [];
    if (names.requests !== undefined) views.push(new RedView(this.store, 'requests', names.requests, 'Total HTTP requests, by method, route template and status code.'));
    views.push(new RedView(this.store, 'duration', names.duration, 'HTTP request duration in seconds, by method, route template and status code.'));
    views.push(new RedView(this.store, 'requestSize', names.requestSize, 'HTTP request body size in bytes.'));
    views.push(new RedView(this.store, 'responseSize', names.responseSize, 'HTTP response body size in bytes.'));
    for (const view of views) this.register(view);
    this.droppedFor = views.map((v) => v.name);

    const engine = this;
    this.register(
      new Gauge({
        name: names.inFlight,
        help: 'HTTP requests being served now.',
        registers: [],
        collect() {
          this.set(engine.inFlight);
        },
      }),
    );
    this.dropped = new Counter({
      name: names.seriesDropped,
      help: 'Observations that went to the overflow series because a metric reached its series cap.',
      labelNames: ['metric'] as const,
      registers: [],
      collect() {
        engine.reportDropped();
      },
    });
    this.register(this.dropped);
    if (options.apdexGauge) {
      const windows = this.windows;
      this.register(
        new Gauge({
          name: names.apdex,
          help: `Apdex score per route over the last ${windows.windowsMs[0] / 1000} s (T = ${apdexT} s), computed at scrape time.`,
          labelNames: [names.labelRoute],
          registers: [],
          aggregator: 'average',
          collect() {
            this.reset();
            for (const route of windows.routes()) {
              const stats = windows.route(route);
              if (stats !== undefined && stats.count > 0) this.set({ [names.labelRoute]: route }, stats.apdex);
            }
          },
        }),
      );
    }
    if (options.healthMetrics) {
      this.registered.push(...registerHealthMetrics(registry, options.prefix));
    }
    if (options.defaultMetrics && registry.getSingleMetric(`${options.prefix}process_cpu_user_seconds_total`) === undefined) {
      collectDefaultMetrics({ register: registry, prefix: options.prefix });
      // Gauges named `_total` fail `promtool check metrics` lint; `sum(nodejs_active_handles)` etc. give the same.
      for (const name of LINTED_DEFAULT_GAUGES) registry.removeSingleMetric(`${options.prefix}${name}`);
    }
    if (options.idleTimeoutMs > 0) {
      this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, options.idleTimeoutMs / 2)));
      this.sweeper.unref();
    }
    this.endSink = (ex) => this.end(ex);
    lastEngine = this;
    this.announcement = {
      name: 'metrics',
      version: VERSION,
      snapshot: () => ({ series: this.store.size, inFlight: this.inFlight, dropped: this.store.dropped, names: this.names }),
    };
    registerPackage(this.announcement);
  }

  private register(metric: object): void {
    this.registry.registerMetric(metric as never);
    this.registered.push((metric as { name: string }).name);
  }

  private reportDropped(): void {
    const dropped = this.store.dropped;
    if (dropped > this.droppedReported) {
      const delta = dropped - this.droppedReported;
      for (const name of this.droppedFor) this.dropped.inc({ metric: name }, delta);
      this.droppedReported = dropped;
    }
  }

  /** Adds a listener called for every recorded request (the StatsD mirror uses it). */
  addListener(listener: RecordListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  observe(ex: Exchange): void {
    this.inFlight++;
    ex.onEnd(this.endSink);
  }

  private end(ex: Exchange): void {
    this.inFlight--;
    if (ex.quiet && !this.options.includeQuiet) return;
    const method = ex.method;
    const route = ex.route;
    const status = ex.status;
    const series = this.extraCount === 0 ? this.store.series(method, route, status) : this.store.seriesWithExtras(method, route, status, this.extraValues(ex, undefined));
    // exemplars point at traces that were kept: sampled ones only
    const traceId = (ex.traceFlags & 1) === 1 ? ex.traceId : '';
    const seconds = ex.durationMs / 1000;
    this.store.observe(series, seconds, ex.requestBytes, ex.responseBytes, ex.startTime + ex.durationMs, traceId, ex.spanId, traceId === '' ? 0 : ex.startEpochMs + ex.durationMs);
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i](method, route, status, seconds, ex.requestBytes, ex.responseBytes);
  }

  private extraValues(ex: Exchange | undefined, given: Record<string, string | number> | undefined): string[] {
    const fns = this.options.extraLabelFns;
    const names = this.options.extraLabelNames;
    const values = new Array<string>(fns.length);
    for (let i = 0; i < fns.length; i++) {
      let value: unknown = given?.[names[i]];
      if (value === undefined && ex !== undefined) {
        try {
          value = fns[i](ex);
        } catch (error) {
          reportError('metrics.extraLabels', error);
        }
      }
      values[i] = value === undefined || value === null ? '' : String(value);
    }
    return values;
  }

  recordRequest(record: RequestRecord): void {
    if (record === null || typeof record !== 'object' || typeof record.route !== 'string' || !(record.durationSeconds >= 0)) {
      reportError('metrics.recordRequest', new TypeError('recordRequest needs { route: string, durationSeconds: number >= 0 }'));
      return;
    }
    if (record.status !== undefined && !(Number.isInteger(record.status) && (record.status as number) >= 0 && (record.status as number) <= 999)) {
      reportError('metrics.recordRequest', new TypeError(`recordRequest status must be an integer from 0 to 999, got ${String(record.status)}`));
      return;
    }
    const method = typeof record.method === 'string' && record.method !== '' ? record.method : 'JOB';
    const status = record.status ?? 200;
    const requestBytes = Number(record.requestBytes) || 0;
    const responseBytes = Number(record.responseBytes) || 0;
    const series: Series =
      this.extraCount === 0 ? this.store.series(method, record.route, status) : this.store.seriesWithExtras(method, record.route, status, this.extraValues(undefined, record.labels));
    // an exemplar's trace id is a W3C one (32 lower-case hex digits), never free text in the exposition
    const traceId = typeof record.traceId === 'string' && TRACE_ID.test(record.traceId) ? record.traceId : '';
    const now = performance.now();
    this.store.observe(series, record.durationSeconds, requestBytes, responseBytes, now, traceId, '', traceId === '' ? 0 : Date.now());
    this.windows.record(record.route, record.durationSeconds * 1000, status >= 500);
    for (const listener of this.listeners) listener(method, record.route, status, record.durationSeconds, requestBytes, responseBytes);
  }

  /** Records one timed function call (`timed()`), in `function_duration_seconds{function,outcome}`. */
  recordTiming(name: string, seconds: number, ok: boolean): void {
    if (this.timings === undefined) {
      const timings = new Histogram({
        name: `${this.options.prefix}function_duration_seconds`,
        help: 'Duration of functions wrapped with timed(), seconds.',
        labelNames: ['function', 'outcome'] as const,
        buckets: Array.from(this.store.durationBounds),
        registers: [],
      });
      try {
        this.register(timings);
        this.timings = timings;
      } catch (error) {
        // the name is taken in the registry by a metric of someone else's: timings are not kept
        reportError('metrics.timed', error);
        this.timings = null;
      }
    }
    this.timings?.observe({ function: this.timingNames.admit(name), outcome: ok ? 'ok' : 'error' }, seconds);
  }

  apdex(route?: string): number {
    const stats = route === undefined ? this.windows.overall() : this.windows.route(route);
    return stats === undefined ? 1 : stats.apdex;
  }

  percentiles(route?: string): Percentiles {
    const stats = route === undefined ? this.windows.overall() : this.windows.route(route);
    if (stats === undefined) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, count: 0 };
    return { p50: stats.p50 / 1000, p95: stats.p95 / 1000, p99: stats.p99 / 1000, count: stats.count };
  }

  scrape(openMetrics = false): Promise<Scrape> {
    this.sweep();
    return renderMetrics(this.registry, openMetrics);
  }

  seriesCount(): number {
    return this.store.size;
  }

  sweep(): number {
    if (this.options.idleTimeoutMs <= 0) return 0;
    return this.store.removeIdle(performance.now() - this.options.idleTimeoutMs);
  }

  close(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    for (const name of this.registered) this.registry.removeSingleMetric(name);
    this.registered.length = 0;
    if (lastEngine === this) lastEngine = undefined;
    if (registeredPackage('metrics') === this.announcement) unregisterPackage('metrics');
  }
}

/**
 * Creates the metrics engine: a prom-client registry (its own unless one is given) with
 * `http_requests_total{method,route,status_code}`, `http_request_duration_seconds` (buckets include
 * the Apdex T and 4T), `http_requests_in_flight`, request and response sizes, `http_apdex_score`
 * per route (computed at scrape time from the core's rolling windows), health check gauges when a
 * health package is registered, and prom-client's default process metrics. Feed it with
 * `expressMetrics` / `koaMetrics`, or `recordRequest()` for work that is not HTTP.
 * Bad options throw a `TypeError` here.
 *
 * @example
 * ```ts
 * import { createMetrics, expressMetrics } from '@vigil/metrics';
 * const metrics = createMetrics({ prefix: 'shop_', extraLabels: { tenant: (ex) => ex?.header('x-tenant') } });
 * app.use(expressMetrics({ metrics }));
 * metrics.recordRequest({ route: 'send-invoices', durationSeconds: 3.2 });
 * console.log(metrics.apdex('/orders/:id'), metrics.percentiles().p95);
 * ```
 */
export function createMetrics(options?: MetricsOptions): Metrics {
  return new MetricsEngine(normalizeOptions(options));
}
