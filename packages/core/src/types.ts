import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * How a request ended.
 * - `ok`: the response was sent and nothing failed (4xx included);
 * - `error`: status ≥ 500, or a thrown / forwarded error (the error is kept on `Exchange.error`),
 *   also when the server broke the response off with it (a stream body that failed mid-way);
 * - `aborted`: the client went away before the response ended (status recorded as 499);
 * - `timeout`: the server timed the request out (status recorded as 504 unless one was sent).
 *
 * @example
 * ```ts
 * onExchangeEnd((ex) => { if (ex.outcome === 'aborted') console.log('client left', ex.route); });
 * ```
 */
export type Outcome = 'ok' | 'error' | 'aborted' | 'timeout';

/** Which adapter created an exchange. */
export type Framework = 'express' | 'koa' | 'node';

/**
 * The single observation of one HTTP request, shared by every vigil package.
 *
 * It is created by the first vigil middleware that sees the request (`observeExpress`,
 * `observeKoa` or `observeNode`) and completed exactly once, by one `close` listener.
 * Read `route`, `status`, `durationMs` and `outcome` only in an end sink.
 *
 * @example
 * ```ts
 * app.use((req, res, next) => {
 *   const ex = observeExpress(req, res);
 *   ex.onEnd((done) => console.log(done.method, done.route, done.status, done.durationMs));
 *   runInExchange(ex, next);
 * });
 * ```
 */
export interface Exchange {
  /** Process-unique sequence number (a counter, cheaper than a UUID). */
  readonly seq: number;
  /** Request id: the incoming header when it is short and plain, otherwise generated. */
  requestId: string;
  /** HTTP method, upper case. */
  readonly method: string;
  /** The raw request URL (path and query) as received. */
  readonly url: string;
  /** The URL path without the query string. */
  readonly path: string;
  /**
   * Route template (`/users/:id`), `UNMATCHED_ROUTE` when no route answered. Resolved on first
   * read and cached; read it after the exchange ended.
   */
  readonly route: string;
  /** `true` when `route` comes from a router (a real template), not from path normalisation. */
  readonly routeMatched: boolean;
  /** `performance.now()` at the start, in milliseconds. */
  readonly startTime: number;
  /** Wall-clock time at the start, epoch milliseconds. */
  readonly startEpochMs: number;
  /** Duration in milliseconds (set when the exchange ends). */
  durationMs: number;
  /** Final status (499 when the client aborted, 504 on a server timeout with nothing sent). */
  status: number;
  /** Request body size from `content-length` (0 when unknown). */
  requestBytes: number;
  /** Response body size (from `content-length`, or bytes written when it was streamed). */
  responseBytes: number;
  /** How the request ended. */
  outcome: Outcome;
  /** The thrown or forwarded error, if any. */
  error: unknown;
  /** `true` once the exchange has ended. */
  ended: boolean;
  /** Set by a package that wants the request kept out of logs and traces (health probes). */
  quiet: boolean;
  /** W3C trace id (32 hex) of the request's server span; empty without tracing. */
  traceId: string;
  /** Span id (16 hex) of the request's server span; empty without tracing. */
  spanId: string;
  /** Trace flags of the server span (1 = sampled). */
  traceFlags: number;
  /** The tracing package's server span, when there is one. */
  span: unknown;
  /** The logging package's request-bound logger, once created. */
  logger: unknown;
  /** Which adapter created the exchange. */
  readonly framework: Framework;
  /** The Node request. */
  readonly req: IncomingMessage;
  /** The Node response. */
  readonly res: ServerResponse;
  /** The request headers (`req.headers`, read on first use and kept; lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** The Koa context, for Koa exchanges. */
  readonly ctx: unknown;
  /** First value of a request header (name in lower case), or `undefined`. */
  header(name: string): string | undefined;
  /**
   * Adds a sink called once when this exchange ends (after nothing else can change it); on an
   * exchange that has already ended (the client went away before this middleware ran), at once.
   */
  onEnd(sink: ExchangeSink): void;
  /** Keeps an error thrown or forwarded while serving the request (the first one wins). */
  recordError(error: unknown): void;
}

/**
 * A function called with a completed exchange. Sinks run through `safeRun`: a sink that throws
 * is reported to the error handler and never reaches the app.
 *
 * @example
 * ```ts
 * const sink: ExchangeSink = (ex) => counter.inc({ route: ex.route });
 * ```
 */
export type ExchangeSink = (ex: Exchange) => void;

/**
 * Request id policy, set once per process with `configureRequestId`.
 *
 * @example
 * ```ts
 * configureRequestId({ header: 'x-correlation-id', echo: true });
 * ```
 */
export interface RequestIdOptions {
  /** Incoming and echoed header name (default `x-request-id`). */
  header?: string;
  /** Echo the id in the response header (default `true`). */
  echo?: boolean;
  /** Generates an id when the incoming one is missing or invalid. */
  generate?: (req: IncomingMessage) => string;
}

/**
 * Where the request context lives. The default is one AsyncLocalStorage in the core; the tracing
 * package swaps in OpenTelemetry's context so that only one storage is used.
 *
 * @example
 * ```ts
 * setContextBackend({ run: (ex, fn) => als.run(ex, fn), current: () => als.getStore() });
 * ```
 */
export interface ContextBackend {
  /** Runs `fn` with `ex` as the current exchange. */
  run<T>(ex: Exchange, fn: () => T): T;
  /** The current exchange, if any. */
  current(): Exchange | undefined;
}

/**
 * Trace ids of the active span (which may be a child of the request span).
 *
 * @example
 * ```ts
 * const ids: TraceIds = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
 * ```
 */
export interface TraceIds {
  traceId: string;
  spanId: string;
}

/**
 * Health state a health package publishes through the registry, read by alerts, metrics and the
 * dashboard.
 *
 * @example
 * ```ts
 * const snap: HealthSnapshot = { status: 'pass', checks: [] };
 * ```
 */
export interface HealthSnapshot {
  status: 'pass' | 'warn' | 'fail';
  checks: HealthCheckSnapshot[];
}

/** One check's last known state (see `HealthSnapshot`). */
export interface HealthCheckSnapshot {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  critical: boolean;
  groups: string[];
  durationMs: number;
  /** Epoch ms of the last completed run (0 if never run). */
  lastRunEpochMs: number;
  /** Epoch ms of the last passing run (0 if never). */
  lastSuccessEpochMs: number;
  observedValue?: number | string;
  observedUnit?: string;
  output?: string;
}

/**
 * Alert state an alerts package publishes through the registry.
 *
 * @example
 * ```ts
 * const snap: AlertsSnapshot = { alerts: [] };
 * ```
 */
export interface AlertsSnapshot {
  alerts: Array<{
    name: string;
    state: 'inactive' | 'pending' | 'firing';
    severity: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    value: number | undefined;
    activeSinceEpochMs: number;
  }>;
}

/**
 * A finished trace summarised for the dashboard ring (`recentEvents.traces`).
 *
 * @example
 * ```ts
 * recentEvents.traces.push({ traceId, name: 'GET /users/:id', route: '/users/:id', status: 200,
 *   error: false, durationMs: 3.2, startEpochMs: Date.now(), spans: [] });
 * ```
 */
export interface TraceSummary {
  traceId: string;
  name: string;
  route: string;
  status: number;
  error: boolean;
  durationMs: number;
  startEpochMs: number;
  spans: Array<{
    spanId: string;
    parentSpanId: string | undefined;
    name: string;
    /** Start offset from the root span, ms. */
    offsetMs: number;
    durationMs: number;
    error: boolean;
  }>;
}

/**
 * A warning or error log line kept for the dashboard ring (`recentEvents.logs`).
 *
 * @example
 * ```ts
 * recentEvents.logs.push({ timeEpochMs: Date.now(), level: 'error', message: 'payment failed' });
 * ```
 */
export interface LogEvent {
  timeEpochMs: number;
  level: string;
  message: string;
  requestId?: string;
  traceId?: string;
}

/**
 * A health status change kept for the dashboard ring (`recentEvents.health`).
 *
 * @example
 * ```ts
 * recentEvents.health.push({ timeEpochMs: Date.now(), check: 'database', from: 'pass', to: 'fail' });
 * ```
 */
export interface HealthTransition {
  timeEpochMs: number;
  check: string;
  from: string;
  to: string;
}

/**
 * What a package announces in the core registry (`registerPackage`).
 *
 * @example
 * ```ts
 * registerPackage({ name: 'health', version: '0.1.0', snapshot: () => health.snapshot() });
 * ```
 */
export interface PackageInfo {
  name: string;
  version?: string;
  /** Returns the package's current state for readers (dashboard, alerts). */
  snapshot?: () => unknown;
}
