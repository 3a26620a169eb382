import type { HealthSnapshot } from '@vigil/core';

/**
 * A check's or the service's state, as in the IETF health-check response format:
 * `pass` (healthy), `warn` (healthy with concerns: HTTP 200, "degraded"), `fail` (unhealthy: 503).
 *
 * @example
 * ```ts
 * const status: HealthStatus = 'warn';
 * ```
 */
export type HealthStatus = 'pass' | 'warn' | 'fail';

/**
 * What a check reports. Only `status` is required.
 *
 * @example
 * ```ts
 * const result: CheckResult = { status: 'warn', observedValue: 812, observedUnit: 'ms', output: 'slow replica' };
 * ```
 */
export interface CheckResult {
  status: HealthStatus;
  /** A measured value (response time, pool size, lag...). A detail: withheld from anonymous callers in production. */
  observedValue?: number | string;
  /** Unit of `observedValue` (`ms`, `percent`, `s`...). */
  observedUnit?: string;
  /** Why the check is not passing (an error message). A detail: withheld from anonymous callers in production. */
  output?: string;
}

/**
 * A check function. It receives an `AbortSignal` that aborts when the check's timeout elapses
 * (pass it to `fetch`, database drivers...). It may return a `CheckResult`, `true`/`undefined`
 * (pass), `false` (fail), or throw (fail, with the error message as the withheld reason); a promise
 * of any of these works too.
 *
 * @example
 * ```ts
 * const database: CheckFunction = async (signal) => { await pool.query('SELECT 1', { signal }); };
 * ```
 */
export type CheckFunction = (signal: AbortSignal) => CheckReturn | Promise<CheckReturn>;

/**
 * Anything a `CheckFunction` may return.
 *
 * @example
 * ```ts
 * const value: CheckReturn = { status: 'pass', observedValue: 3, observedUnit: 'ms' };
 * ```
 */
export type CheckReturn = CheckResult | boolean | void | undefined | null;

/**
 * A check with metadata, as returned by the ready-made checks (`httpCheck`, `tcpCheck`...).
 *
 * @example
 * ```ts
 * const cache: CheckDefinition = {
 *   measurement: 'responseTime', componentType: 'datastore',
 *   run: async () => { const t = Date.now(); await redis.ping(); return { status: 'pass', observedValue: Date.now() - t, observedUnit: 'ms' }; },
 * };
 * ```
 */
export interface CheckDefinition {
  /** Runs the check once. */
  run: CheckFunction;
  /** IETF measurement name: the body keys the check `name:measurement` (`database:responseTime`). */
  measurement?: string;
  /** IETF component type (`datastore`, `component`, `system`). */
  componentType?: string;
  /** Releases what the check holds (timers, histograms); called by `health.close()` and `unregister`. */
  close?: () => void;
}

/**
 * Options of `health.register(name, check, options)`.
 *
 * @example
 * ```ts
 * health.register('cache', cacheCheck, { critical: false, intervalMs: 5_000, timeoutMs: 500 });
 * ```
 */
export interface RegisterOptions {
  /** A failing critical check makes the service `fail` (503); a non-critical one makes it `warn` (200). Default `true`. */
  critical?: boolean;
  /** Hard timeout of one run, in ms; the check's `AbortSignal` aborts then. Default 2000. */
  timeoutMs?: number;
  /**
   * Run in the background every `intervalMs` and let probes read the cached result. Without it, the
   * check runs when a probe asks, single-flight (concurrent probes share one run).
   */
  intervalMs?: number;
  /** A cached result older than this counts as `fail`. Default `2 × intervalMs + timeoutMs` for background checks. */
  staleAfterMs?: number;
  /**
   * Which probes the check feeds: any of `readiness`, `liveness`, `startup` (or your own names).
   * Default `['readiness']`. `/health` always shows every check.
   */
  groups?: string[];
  /** IETF measurement name, overriding the check's own (`database:connections`). */
  measurement?: string;
  /** IETF component type, overriding the check's own. */
  componentType?: string;
}

/**
 * Something with pino- or console-style `info`, `warn` and `error` methods. Called as
 * `logger.warn(fields, message)`.
 *
 * @example
 * ```ts
 * const logger: HealthLogger = createLogger({ service: 'orders' }); // @vigil/logging, or `console`
 * ```
 */
export interface HealthLogger {
  info(fields: object, message: string): unknown;
  warn(fields: object, message: string): unknown;
  error(fields: object, message: string): unknown;
}

/**
 * Options of `createHealth`.
 *
 * @example
 * ```ts
 * const health = createHealth({ service: 'orders', version: '1.4.2', logger: console });
 * ```
 */
export interface HealthOptions {
  /** Service name: IETF `serviceId` unless `serviceId` is given, and the body's `description`. */
  service: string;
  /** Public version of the service (IETF `version`). */
  version?: string;
  /** Release id (IETF `releaseId`), e.g. the git sha. */
  releaseId?: string;
  /** IETF `serviceId` (default: `service`). */
  serviceId?: string;
  /**
   * Where status changes are logged, once per change (`fail` as error, `warn` as warn, back to
   * `pass` as info). Default: not logged (changes still go to `recentEvents.health` and the
   * registry snapshot, which the dashboard, alerts and metrics read).
   */
  logger?: HealthLogger;
  /** Announce the health state in the core registry as package `health`. Default `true`. */
  register?: boolean;
}

/**
 * One check's state as a probe sees it.
 *
 * @example
 * ```ts
 * const report = await health.check('readiness');
 * report.checks.filter((c: CheckReport) => c.status !== 'pass').map((c) => c.name);
 * ```
 */
export interface CheckReport {
  name: string;
  /** IETF key: `name` or `name:measurement`. */
  key: string;
  status: HealthStatus;
  critical: boolean;
  groups: readonly string[];
  componentType: string | undefined;
  observedValue: number | string | undefined;
  observedUnit: string | undefined;
  output: string | undefined;
  /** Duration of the run that produced this result, in ms. */
  durationMs: number;
  /** When the result was obtained (ISO 8601), or `undefined` when the check never completed. */
  time: string | undefined;
}

/**
 * The result of evaluating a set of checks (`health.check(group)`).
 *
 * @example
 * ```ts
 * const report: HealthReport = await health.check('readiness', { exclude: ['cache'] });
 * if (report.status === 'fail') console.log(report.output);
 * ```
 */
export interface HealthReport {
  status: HealthStatus;
  /** Summary when not passing: `degraded`, `unhealthy`, `shutting down`. */
  output: string | undefined;
  checks: CheckReport[];
  /** `true` once `markShuttingDown()` was called: readiness fails from then on. */
  shuttingDown: boolean;
  /** Names passed in `exclude` that matched no check. */
  unknownExcludes: string[];
}

/**
 * Options of `health.check(group, options)`.
 *
 * @example
 * ```ts
 * await health.check('readiness', { exclude: ['cache'] });
 * ```
 */
export interface EvaluateOptions {
  /** Check names left out of this evaluation. */
  exclude?: readonly string[];
  /** Evaluate only this check (it must belong to the group). */
  only?: string;
}

/**
 * The health engine made by `createHealth`.
 *
 * @example
 * ```ts
 * const health = createHealth({ service: 'orders' });
 * health.register('database', async (signal) => { await db.ping({ signal }); });
 * const report = await health.check('readiness');
 * ```
 */
export interface Health {
  readonly service: string;
  readonly version: string | undefined;
  readonly releaseId: string | undefined;
  readonly serviceId: string;
  /** Epoch ms when the engine was created (the body's uptime starts here). */
  readonly startedEpochMs: number;
  /** `true` once `markShuttingDown()` was called. */
  readonly shuttingDown: boolean;
  /** Adds a check; throws a `TypeError` for a bad name, a duplicate or bad options. */
  register(name: string, check: CheckFunction | CheckDefinition, options?: RegisterOptions): Health;
  /** Removes a check (stops its timer). Returns whether it existed. */
  unregister(name: string): boolean;
  /** Names of registered checks, optionally only those in `group`. */
  names(group?: string): string[];
  /** Whether a check with this name is registered (in `group` when given). */
  has(name: string, group?: string): boolean;
  /**
   * Evaluates the checks of a group (`readiness`, `liveness`, `startup`) or all checks (no group):
   * cached results for background checks, one shared run for on-demand ones. The `startup` group
   * passes for good once an evaluation that left none of its checks out (`exclude`, `only`) did not fail.
   */
  check(group?: string, options?: EvaluateOptions): Promise<HealthReport>;
  /** Last known state of every check, without running anything (what the registry publishes). */
  snapshot(): HealthSnapshot;
  /** Readiness (and `/health`) fail from now on; liveness is unaffected. Used by `gracefulShutdown`. */
  markShuttingDown(): void;
  /** Stops background checks and releases check resources. */
  close(): void;
}

/**
 * Options of `expressHealth` and `koaHealth`. `Req` is what `canSeeDetails` receives: the Express
 * request or the Koa context.
 *
 * @example
 * ```ts
 * const options: HealthEndpointOptions<Request> = {
 *   canSeeDetails: (req) => req.headers['x-ops-token'] === process.env.OPS_TOKEN,
 * };
 * ```
 */
export interface HealthEndpointOptions<Req> {
  /** Prefix of every probe path (`/ops` gives `/ops/readyz`). Default `''`. */
  basePath?: string;
  /**
   * Whether a caller may see details (outputs, errors, observed values, uptime). Others see each
   * check's status with "reason withheld". Consulted only in production (outside production
   * everyone sees details). Default: nobody sees details in production.
   */
  canSeeDetails?: (req: Req) => boolean;
  /** Production mode (details withheld by default). Default: `process.env.NODE_ENV === 'production'`, read once. */
  production?: boolean;
  /** Keep probe requests out of logs and traces (metrics still count them). Default `true`. */
  quiet?: boolean;
  /**
   * Rename or turn off (`false`) individual endpoints. Defaults: `/health`, `/readiness`,
   * `/liveness`, `/readyz`, `/livez`, `/startupz`.
   */
  paths?: Partial<Record<ProbeEndpoint, string | false>>;
}

/**
 * The endpoints `expressHealth` and `koaHealth` serve.
 *
 * @example
 * ```ts
 * const off: ProbeEndpoint = 'readiness';
 * expressHealth(health, { paths: { [off]: false } });
 * ```
 */
export type ProbeEndpoint = 'health' | 'readiness' | 'liveness' | 'readyz' | 'livez' | 'startupz';

/**
 * A cleanup hook run during shutdown: a function, or a named function with its own timeout.
 *
 * @example
 * ```ts
 * const hook: ShutdownHook = { name: 'tracing', timeoutMs: 3000, fn: () => tracing.shutdown() };
 * ```
 */
export type ShutdownHook = (() => unknown) | { name?: string; fn: () => unknown; timeoutMs?: number };

/**
 * Timer functions used by `gracefulShutdown` (inject a fake for tests).
 *
 * @example
 * ```ts
 * const clock: ShutdownClock = { now: Date.now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout) };
 * ```
 */
export interface ShutdownClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Where signals come from (default: `process`).
 *
 * @example
 * ```ts
 * const source: SignalSource = new EventEmitter(); // emit('SIGTERM', 'SIGTERM') in a test
 * ```
 */
export interface SignalSource {
  on(signal: string, listener: (signal: string) => void): unknown;
  removeListener(signal: string, listener: (signal: string) => void): unknown;
}

/**
 * Options of `gracefulShutdown`.
 *
 * @example
 * ```ts
 * gracefulShutdown(server, health, { drainDelayMs: 5000, timeoutMs: 10_000, onShutdown: [() => tracing.shutdown()] });
 * ```
 */
export interface GracefulShutdownOptions {
  /** Signals that start the shutdown. Default `['SIGTERM', 'SIGINT']`. */
  signals?: string[];
  /**
   * Time between the signal and closing the listener, while readiness already fails and requests
   * are still served with `Connection: close` (so load balancers stop sending). Default 5000 ms
   * under Kubernetes (`KUBERNETES_SERVICE_HOST` set), otherwise 0.
   */
  drainDelayMs?: number;
  /** How long in-flight requests may take after the listener closes; then their connections are cut. Default 10 000 ms. */
  timeoutMs?: number;
  /** Cleanup hooks (flush logs, end spans, push metrics), run in reverse order after the server closed. */
  onShutdown?: ShutdownHook | ShutdownHook[];
  /** Timeout of each hook without its own. Default 5000 ms. */
  hookTimeoutMs?: number;
  /** Ends the process. Default `process.exit`. */
  exit?: (code: number) => void;
  /** Timers (default: the real ones). */
  clock?: ShutdownClock;
  /** Signal source (default: `process`). */
  signalSource?: SignalSource;
  /** Environment read for the Kubernetes default (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Where shutdown progress is logged. Default: nowhere. */
  logger?: HealthLogger;
}

/**
 * What `gracefulShutdown` returns.
 *
 * @example
 * ```ts
 * const shutdown = gracefulShutdown(server, health);
 * shutdown.addHook(() => metrics.push());
 * await shutdown.shutdown('manual'); // in tests, with a fake `exit`
 * ```
 */
export interface GracefulShutdown {
  /** `running`, `draining`, `closing`, `cleanup` or `done`. */
  readonly state: 'running' | 'draining' | 'closing' | 'cleanup' | 'done';
  /** Adds a cleanup hook (hooks run last-added first). */
  addHook(hook: ShutdownHook): void;
  /** Starts the shutdown as if a signal arrived; resolves with the exit code after `exit` was called. */
  shutdown(reason?: string): Promise<number>;
  /** Removes the signal listeners (shutdown can no longer be started by a signal). */
  dispose(): void;
}
