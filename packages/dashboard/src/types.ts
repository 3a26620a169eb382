import type { IncomingMessage } from 'node:http';

/**
 * Decides whether a request may see the dashboard. Return `true` to allow. A hook that throws or
 * rejects denies (and is reported to the core error handler). For Koa the second argument is the
 * Koa context.
 *
 * @example
 * ```ts
 * const authorize: DashboardAuthorize = (req) => req.socket.remoteAddress === '127.0.0.1';
 * ```
 */
export type DashboardAuthorize = (req: IncomingMessage, ctx?: unknown) => boolean | Promise<boolean>;

/**
 * Options of `expressDashboard` and `koaDashboard`.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = {
 *   path: '/_vigil',
 *   enabled: process.env.VIGIL_DASHBOARD === '1',
 *   authorize: (req) => req.headers['x-admin'] === process.env.ADMIN_KEY,
 * };
 * ```
 */
export interface DashboardOptions {
  /** Where the page is mounted (default `/_vigil`). Must start with `/`. */
  path?: string;
  /**
   * Serve the dashboard. Default: `true` unless `NODE_ENV === 'production'`. When off, the
   * middleware passes every request on untouched and no sampler is started.
   */
  enabled?: boolean;
  /** Access hook, called on every dashboard request (page, assets, stream). Default: allow. */
  authorize?: DashboardAuthorize;
  /** Page title (default: `vigil` followed by the service name, when known). */
  title?: string;
  /** Service name shown in the header (default: `npm_package_name` or the process title). */
  serviceName?: string;
  /** Most dashboard streams open at once; more get `503` (default 16). */
  maxClients?: number;
  /** Most routes sent to the page, busiest first (default 1000). */
  maxRoutes?: number;
  /** Recent traces shown (default 20: failed ones first, at most half, then the slowest). */
  maxTraces?: number;
  /** Recent warning and error log lines shown (default 50). */
  maxLogs?: number;
}

/**
 * Latency and traffic numbers of one route or of the whole service (from the core windows).
 *
 * @example
 * ```ts
 * const row: TrafficRow = { rate: 12.5, errorRatio: 0.01, p50: 8, p95: 40, p99: 95, apdex: 0.98, count: 750, errors: 8 };
 * ```
 */
export interface TrafficRow {
  /** Requests per second over the window. */
  rate: number;
  /** Failed share, 0..1. */
  errorRatio: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  apdex: number;
  count: number;
  errors: number;
}

/**
 * One row of the route table.
 *
 * @example
 * ```ts
 * const row: RouteRow = { route: '/users/:id', rate: 3, errorRatio: 0, p50: 4, p95: 9, p99: 12, apdex: 1, count: 180, errors: 0 };
 * ```
 */
export interface RouteRow extends TrafficRow {
  route: string;
}

/**
 * One process (a worker under `node:cluster`, or the only process).
 *
 * @example
 * ```ts
 * const p: ProcessRow = { pid: 4242, cpuPercent: 12.5, rssBytes: 120e6, heapUsedBytes: 60e6, heapTotalBytes: 80e6, lagMeanMs: 0.4, lagP99Ms: 3.1, uptimeSec: 360 };
 * ```
 */
export interface ProcessRow {
  pid: number;
  /** CPU time used over the last second, percent of one core. */
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Event-loop delay over the last second (mean and p99), ms. */
  lagMeanMs: number;
  lagP99Ms: number;
  uptimeSec: number;
}

/**
 * What one process measured in one second: the unit sent between cluster workers and the primary.
 *
 * @example
 * ```ts
 * const frame: Frame = { t: Date.now(), windowMs: 60_000, overall: row, routes: [], processes: [p], workers: 1 };
 * ```
 */
export interface Frame {
  /** Epoch ms of the sample. */
  t: number;
  /** Window length the stats cover, ms. */
  windowMs: number;
  overall: TrafficRow;
  routes: RouteRow[];
  processes: ProcessRow[];
  /** Workers the frame covers (1 without a cluster). */
  workers: number;
}

/**
 * One point of the time series: `[t (s), rate, error %, p50, p95, p99, apdex, cpu %, rss MB,
 * heap MB, lag p99 ms]` (null where there was no traffic).
 *
 * @example
 * ```ts
 * const point: SeriesPoint = [1795608844, 5, 0, 30.9, 49.9, 49.9, 1, 5.9, 138, 51.7, 3.5];
 * ```
 */
export type SeriesPoint = Array<number | null>;
