import type { IncomingMessage } from 'node:http';
import type { Exchange, PathMatcher } from '@vigil/core';
import type { Registry } from 'prom-client';

/**
 * Metric and label names to emit: Prometheus conventions (`http_request_duration_seconds`,
 * `route`, `status_code`) or the OpenTelemetry HTTP semantic conventions
 * (`http_server_request_duration_seconds`, `http_route`, `http_response_status_code`).
 *
 * @example
 * ```ts
 * const naming: MetricsNaming = 'otel';
 * ```
 */
export type MetricsNaming = 'prometheus' | 'otel';

/**
 * A function giving the value of one extra label from a finished exchange (or from a
 * `recordRequest` call, where `ex` is `undefined` and the value comes from `labels`).
 *
 * @example
 * ```ts
 * const tenant: ExtraLabel = (ex) => ex?.header('x-tenant');
 * ```
 */
export type ExtraLabel = (ex: Exchange | undefined) => string | number | undefined;

/**
 * Options of `createMetrics` (and of `expressMetrics` / `koaMetrics`, which create an engine
 * when none is given).
 *
 * @example
 * ```ts
 * const options: MetricsOptions = { prefix: 'shop_', extraLabels: { tenant: (ex) => ex?.header('x-tenant') } };
 * ```
 */
export interface MetricsOptions {
  /** prom-client registry to register in (default: a new one per engine). */
  registry?: Registry;
  /** Prefix for every metric name (default `''`). Must make valid metric names. */
  prefix?: string;
  /** `prometheus` (default) or `otel` names and labels. */
  naming?: MetricsNaming;
  /**
   * Histogram buckets of the request duration, seconds, strictly increasing. Default: prom-client's
   * buckets plus the Apdex T and 4T (from the core's traffic windows, 0.5 s and 2 s by default).
   */
  buckets?: number[];
  /** Histogram buckets of request and response sizes, bytes (default 100 B … 10 MB). */
  sizeBuckets?: number[];
  /** Collect prom-client's default process metrics in the registry (default `true`). */
  defaultMetrics?: boolean;
  /** Extra labels, each from a function of the exchange; each label is capped by a `CardinalityGuard`. */
  extraLabels?: Record<string, ExtraLabel>;
  /** Most distinct values of each extra label; later values become `other` (default 100). */
  extraLabelLimit?: number;
  /**
   * Most label sets per metric (method, route, status and extra labels; a histogram writes its
   * buckets, sum and count for each); past it one overflow label set takes the rest (default 10 000).
   */
  maxSeries?: number;
  /** Series not updated for this long are removed, ms (default 10 minutes; 0 keeps them forever). */
  idleTimeoutMs?: number;
  /** Exemplars with the trace id on the duration histogram, in OpenMetrics (default `true`). */
  exemplars?: boolean;
  /** Emit the `http_apdex_score{route}` gauge, computed at scrape time (default `true`). */
  apdexGauge?: boolean;
  /** Emit `health_check_*` gauges when a health package is registered in the core (default `true`). */
  healthMetrics?: boolean;
  /** Count probes marked quiet by the health package (default `true`). */
  includeQuiet?: boolean;
}

/**
 * Work that is not an HTTP request (a queue job, a cron run), recorded like one.
 *
 * @example
 * ```ts
 * const job: RequestRecord = { method: 'JOB', route: 'send-invoice', status: 200, durationSeconds: 0.42 };
 * ```
 */
export interface RequestRecord {
  /** Method label (default `JOB`). */
  method?: string;
  /** Route label: a template or a job name, never an id. */
  route: string;
  /** Status code, an integer from 0 to 999 (default 200); any other value is reported and the record dropped. */
  status?: number;
  /** Duration in seconds. */
  durationSeconds: number;
  requestBytes?: number;
  responseBytes?: number;
  /** Values of the extra labels. */
  labels?: Record<string, string | number>;
  /** Trace id for an exemplar: 32 lower-case hex digits (anything else gives no exemplar). */
  traceId?: string;
}

/**
 * Latency percentiles over the shortest rolling window, in seconds (`NaN` when nothing was seen).
 *
 * @example
 * ```ts
 * const p: Percentiles = metrics.percentiles('/users/:id');
 * console.log(p.p95);
 * ```
 */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  /** Requests in the window. */
  count: number;
}

/**
 * A rendered scrape.
 *
 * @example
 * ```ts
 * const { contentType, body } = await metrics.scrape(true);
 * ```
 */
export interface Scrape {
  contentType: string;
  body: string;
}

/**
 * The metrics engine made by `createMetrics`.
 *
 * @example
 * ```ts
 * const metrics = createMetrics();
 * metrics.recordRequest({ route: 'nightly-report', durationSeconds: 12.5 });
 * console.log(await metrics.registry.metrics());
 * ```
 */
export interface Metrics {
  /** The prom-client registry holding every metric. */
  readonly registry: Registry;
  /** Names actually used (after prefix and naming). */
  readonly names: MetricNames;
  /** Starts tracking an exchange (in-flight now, RED metrics when it ends). */
  observe(ex: Exchange): void;
  /** Records work that is not an HTTP request. */
  recordRequest(record: RequestRecord): void;
  /** Apdex over the shortest rolling window, of one route or of everything. */
  apdex(route?: string): number;
  /** Latency percentiles (seconds) over the shortest rolling window, of one route or of everything. */
  percentiles(route?: string): Percentiles;
  /** Renders the registry, OpenMetrics when `openMetrics` is true. Throws when a collector throws. */
  scrape(openMetrics?: boolean): Promise<Scrape>;
  /** Number of live RED series (label sets). */
  seriesCount(): number;
  /** Removes series idle longer than `idleTimeoutMs` now (also done at each scrape). */
  sweep(): number;
  /** Stops timers and unregisters the engine's metrics from the registry. */
  close(): void;
}

/**
 * Metric and label names in use.
 *
 * @example
 * ```ts
 * createMetrics({ naming: 'otel' }).names.duration; // 'http_server_request_duration_seconds'
 * ```
 */
export interface MetricNames {
  /** Request counter (`undefined` under `otel`, where the histogram count is the counter). */
  requests: string | undefined;
  duration: string;
  inFlight: string;
  requestSize: string;
  responseSize: string;
  apdex: string;
  seriesDropped: string;
  labelMethod: string;
  labelRoute: string;
  labelStatus: string;
}

/**
 * Options of the `/metrics` endpoint (`expressMetrics`, `koaMetrics`, `serveMetrics`).
 *
 * @example
 * ```ts
 * const endpoint: EndpointOptions = { path: '/internal/metrics', bearerToken: process.env.METRICS_TOKEN };
 * ```
 */
export interface EndpointOptions {
  /** Path of the endpoint (default `/metrics`); `false` serves nothing. */
  path?: string | false;
  /** Requests allowed to scrape; return false to answer 403. Runs through `safeRun`. */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /** Bearer token required in `Authorization` (compared in constant time). */
  bearerToken?: string;
  /** Gzip the body when the scraper accepts it (default `true`). */
  gzip?: boolean;
  /** Serve OpenMetrics when the scraper asks for it (default `true`). */
  openMetrics?: boolean;
  /** A scrape whose collectors take longer than this answers 500, ms (default 10 000). */
  timeoutMs?: number;
}

/**
 * Options of `expressMetrics` and `koaMetrics`.
 *
 * @example
 * ```ts
 * app.use(expressMetrics({ path: '/metrics', exclude: ['/healthz', /^\/static\//], prefix: 'shop_' }));
 * ```
 */
export interface MiddlewareOptions extends MetricsOptions, EndpointOptions {
  /** An engine made by `createMetrics` to use instead of creating one. */
  metrics?: Metrics;
  /**
   * Requests not recorded, by path (without query): path strings, RegExps or predicates
   * `(path) => boolean`. A string also matches with one trailing slash removed and in any letter
   * case (`'/healthz'` leaves out `/healthz/` and `/HEALTHZ`, which Express and `@koa/router` route
   * to the same handler); RegExps and predicates get the path as received. The endpoint path is
   * always left out.
   */
  exclude?: PathMatcher[];
}

/**
 * Options of `serveMetrics`.
 *
 * @example
 * ```ts
 * const options: ServeMetricsOptions = { port: 9464, host: '0.0.0.0', metrics };
 * ```
 */
export interface ServeMetricsOptions extends EndpointOptions {
  /** Port (default 9464; 0 picks a free one). */
  port?: number;
  /** Host to bind (default `0.0.0.0`). */
  host?: string;
  /** Engine to serve; or give `registry`. */
  metrics?: Metrics;
  /** A prom-client registry to serve (when there is no engine). */
  registry?: Registry;
}

/**
 * A running metrics server.
 *
 * @example
 * ```ts
 * const server: MetricsServer = await serveMetrics({ port: 0, metrics });
 * console.log(server.url); await server.close();
 * ```
 */
export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  readonly server: import('node:http').Server;
  close(): Promise<void>;
}
