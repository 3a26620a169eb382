import { recentEvents, registerPackage, reportError, type HealthCheckSnapshot, type HealthSnapshot } from '@vigil/core';
import { runCheck, type RunResult } from './run-check';
import type {
  CheckDefinition,
  CheckFunction,
  CheckReport,
  EvaluateOptions,
  Health,
  HealthLogger,
  HealthOptions,
  HealthReport,
  HealthStatus,
  RegisterOptions,
} from './types';

/** Version announced in the core registry. */
export const HEALTH_PACKAGE_VERSION = '0.1.0';

const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEFAULT_GROUPS: readonly string[] = Object.freeze(['readiness']);
/** Transition name used for the service's overall status (check names cannot contain parentheses). */
export const OVERALL_CHECK = '(service)';

interface CheckEntry {
  readonly name: string;
  readonly key: string;
  readonly run: CheckFunction;
  readonly definition: CheckDefinition | undefined;
  readonly critical: boolean;
  readonly timeoutMs: number;
  /** 0 for on-demand checks. */
  readonly intervalMs: number;
  readonly staleAfterMs: number;
  readonly groups: readonly string[];
  readonly groupSet: ReadonlySet<string>;
  readonly componentType: string | undefined;
  last: RunResult | undefined;
  lastSuccessEpochMs: number;
  inflight: Promise<RunResult> | undefined;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
  /** Last status logged / pushed as a transition. */
  reportedStatus: HealthStatus | undefined;
}

function positiveMs(value: unknown, what: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new TypeError(`@vigil/health: ${what} must be a positive number of milliseconds (≤ ${MAX_TIMER_MS}), got ${String(value)}`);
  }
  return value;
}

function optionalText(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new TypeError(`@vigil/health: ${what} must be a non-empty string`);
  return value;
}

function validLogger(logger: unknown): HealthLogger | undefined {
  if (logger === undefined) return undefined;
  const l = logger as Partial<HealthLogger> | null;
  if (l === null || typeof l !== 'object' || typeof l.info !== 'function' || typeof l.warn !== 'function' || typeof l.error !== 'function') {
    throw new TypeError('@vigil/health: logger must have info, warn and error methods');
  }
  return l as HealthLogger;
}

/** Worst-of aggregation: a failing critical check fails, anything else not passing warns. */
function aggregate(statuses: Iterable<{ status: HealthStatus; critical: boolean }>): HealthStatus {
  let overall: HealthStatus = 'pass';
  for (const c of statuses) {
    if (c.status === 'fail' && c.critical) return 'fail';
    if (c.status !== 'pass') overall = 'warn';
  }
  return overall;
}

class HealthEngine implements Health {
  readonly service: string;
  readonly version: string | undefined;
  readonly releaseId: string | undefined;
  readonly serviceId: string;
  readonly startedEpochMs = Date.now();
  private readonly logger: HealthLogger | undefined;
  private readonly checks = new Map<string, CheckEntry>();
  private shuttingDownFlag = false;
  private startupLatched = false;
  private overallReported: HealthStatus | undefined = undefined;
  private closedFlag = false;

  constructor(options: HealthOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('@vigil/health: createHealth needs { service }');
    this.service = optionalText(options.service, 'service') ?? '';
    if (this.service === '') throw new TypeError('@vigil/health: service must be a non-empty string');
    this.version = optionalText(options.version, 'version');
    this.releaseId = optionalText(options.releaseId, 'releaseId');
    this.serviceId = optionalText(options.serviceId, 'serviceId') ?? this.service;
    this.logger = validLogger(options.logger);
    if (options.register !== false) {
      registerPackage({ name: 'health', version: HEALTH_PACKAGE_VERSION, snapshot: () => this.snapshot() });
    }
  }

  get shuttingDown(): boolean {
    return this.shuttingDownFlag;
  }

  register(name: string, check: CheckFunction | CheckDefinition, options: RegisterOptions = {}): Health {
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new TypeError(`@vigil/health: check name must match ${NAME_PATTERN} (letters, digits, . _ -), got ${JSON.stringify(name)}`);
    }
    if (this.checks.has(name)) throw new TypeError(`@vigil/health: a check named "${name}" is already registered`);
    let run: CheckFunction;
    let definition: CheckDefinition | undefined;
    if (typeof check === 'function') run = check;
    else if (check !== null && typeof check === 'object' && typeof check.run === 'function') {
      definition = check;
      run = check.run.bind(check);
    } else throw new TypeError(`@vigil/health: check "${name}" must be a function or { run }`);
    if (options === null || typeof options !== 'object') throw new TypeError('@vigil/health: register options must be an object');
    const timeoutMs = positiveMs(options.timeoutMs, `timeoutMs of "${name}"`, DEFAULT_TIMEOUT_MS) as number;
    const intervalMs = positiveMs(options.intervalMs, `intervalMs of "${name}"`, 0) as number;
    const staleAfterMs = positiveMs(options.staleAfterMs, `staleAfterMs of "${name}"`, intervalMs > 0 ? Math.min(MAX_TIMER_MS, 2 * intervalMs + timeoutMs) : Infinity) as number;
    if (options.critical !== undefined && typeof options.critical !== 'boolean') throw new TypeError(`@vigil/health: critical of "${name}" must be a boolean`);
    let groups = DEFAULT_GROUPS;
    if (options.groups !== undefined) {
      if (!Array.isArray(options.groups) || options.groups.some((g) => typeof g !== 'string' || !NAME_PATTERN.test(g))) {
        throw new TypeError(`@vigil/health: groups of "${name}" must be an array of names like 'readiness', 'liveness', 'startup'`);
      }
      groups = Object.freeze([...new Set(options.groups)]);
    }
    const measurement = optionalText(options.measurement, `measurement of "${name}"`) ?? optionalText(definition?.measurement, `measurement of "${name}"`);
    if (measurement !== undefined && measurement.includes(':')) throw new TypeError(`@vigil/health: measurement of "${name}" cannot contain ':'`);
    const entry: CheckEntry = {
      name,
      key: measurement === undefined ? name : `${name}:${measurement}`,
      run,
      definition,
      critical: options.critical ?? true,
      timeoutMs,
      intervalMs,
      staleAfterMs,
      groups,
      groupSet: new Set(groups),
      componentType: optionalText(options.componentType, `componentType of "${name}"`) ?? definition?.componentType,
      last: undefined,
      lastSuccessEpochMs: 0,
      inflight: undefined,
      timer: undefined,
      closed: false,
      reportedStatus: undefined,
    };
    this.checks.set(name, entry);
    if (intervalMs > 0 && !this.closedFlag) void this.runBackground(entry);
    return this;
  }

  unregister(name: string): boolean {
    const entry = this.checks.get(name);
    if (entry === undefined) return false;
    this.checks.delete(name);
    this.closeEntry(entry);
    return true;
  }

  names(group?: string): string[] {
    const out: string[] = [];
    for (const entry of this.checks.values()) if (group === undefined || entry.groupSet.has(group)) out.push(entry.name);
    return out;
  }

  has(name: string, group?: string): boolean {
    const entry = this.checks.get(name);
    return entry !== undefined && (group === undefined || entry.groupSet.has(group));
  }

  async check(group?: string, options: EvaluateOptions = {}): Promise<HealthReport> {
    const exclude = options.exclude;
    const only = options.only;
    const selected: CheckEntry[] = [];
    const pending: Array<RunResult | Promise<RunResult>> = [];
    let waits = false;
    let partial = false;
    for (const entry of this.checks.values()) {
      if (group !== undefined && !entry.groupSet.has(group)) continue;
      if ((only !== undefined && entry.name !== only) || (exclude !== undefined && exclude.includes(entry.name))) {
        partial = true;
        continue;
      }
      selected.push(entry);
      const current = this.current(entry);
      if (typeof (current as Promise<RunResult>).then === 'function') waits = true;
      pending.push(current);
    }
    const results = waits ? await Promise.all(pending) : (pending as RunResult[]);
    const now = Date.now();
    const checks: CheckReport[] = new Array<CheckReport>(selected.length);
    for (let i = 0; i < selected.length; i++) checks[i] = this.report(selected[i], results[i], now);
    let status = aggregate(checks);
    let output: string | undefined = status === 'fail' ? 'unhealthy' : status === 'warn' ? 'degraded' : undefined;
    if (group === 'startup') {
      if (status !== 'fail' && !partial) this.startupLatched = true;
      else if (this.startupLatched) {
        status = 'pass';
        output = undefined;
      }
    }
    if (this.shuttingDownFlag && group !== 'liveness' && group !== 'startup') {
      status = 'fail';
      output = 'shutting down';
    }
    const unknownExcludes: string[] = [];
    if (exclude !== undefined) for (const name of exclude) if (!this.has(name, group)) unknownExcludes.push(name);
    return { status, output, checks, shuttingDown: this.shuttingDownFlag, unknownExcludes };
  }

  snapshot(): HealthSnapshot {
    const now = Date.now();
    const checks: HealthCheckSnapshot[] = [];
    for (const entry of this.checks.values()) {
      const last = entry.last;
      const stale = last !== undefined && this.isStale(entry, last, now);
      const snap: HealthCheckSnapshot = {
        name: entry.name,
        status: last === undefined ? 'warn' : stale ? 'fail' : last.status,
        critical: entry.critical,
        groups: [...entry.groups],
        durationMs: last?.durationMs ?? 0,
        lastRunEpochMs: last?.epochMs ?? 0,
        lastSuccessEpochMs: entry.lastSuccessEpochMs,
      };
      if (last?.observedValue !== undefined) snap.observedValue = last.observedValue;
      if (last?.observedUnit !== undefined) snap.observedUnit = last.observedUnit;
      const output = last === undefined ? 'not run yet' : stale ? this.staleOutput(last, now) : last.output;
      if (output !== undefined) snap.output = output;
      checks.push(snap);
    }
    return { status: aggregate(checks), checks };
  }

  markShuttingDown(): void {
    if (this.shuttingDownFlag) return;
    this.shuttingDownFlag = true;
    this.log('warn', { health_service: this.service }, 'health: shutting down, readiness now fails');
  }

  close(): void {
    this.closedFlag = true;
    for (const entry of this.checks.values()) this.closeEntry(entry);
  }

  private closeEntry(entry: CheckEntry): void {
    entry.closed = true;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    const close = entry.definition?.close;
    if (typeof close === 'function') {
      try {
        close.call(entry.definition);
      } catch (error) {
        reportError('health.close', error);
      }
    }
  }

  /** The result a probe uses now: the cached one for background checks, a shared run otherwise. */
  private current(entry: CheckEntry): RunResult | Promise<RunResult> {
    if (entry.intervalMs > 0 && entry.last !== undefined) return entry.last;
    return this.runShared(entry);
  }

  /** Single flight: concurrent callers share the run in progress. */
  private runShared(entry: CheckEntry): Promise<RunResult> {
    if (entry.inflight !== undefined) return entry.inflight;
    const run = runCheck(entry.run, entry.timeoutMs).then((result) => {
      entry.inflight = undefined;
      this.record(entry, result);
      return result;
    });
    entry.inflight = run;
    return run;
  }

  private async runBackground(entry: CheckEntry): Promise<void> {
    if (entry.closed) return;
    await this.runShared(entry);
    if (entry.closed) return;
    entry.timer = setTimeout(() => void this.runBackground(entry), entry.intervalMs);
    entry.timer.unref();
  }

  private isStale(entry: CheckEntry, result: RunResult, now: number): boolean {
    return entry.intervalMs > 0 && now - result.epochMs > entry.staleAfterMs;
  }

  private staleOutput(result: RunResult, now: number): string {
    return `stale: last result is ${Math.round(now - result.epochMs)} ms old`;
  }

  private report(entry: CheckEntry, result: RunResult, now: number): CheckReport {
    const stale = this.isStale(entry, result, now);
    return {
      name: entry.name,
      key: entry.key,
      status: stale ? 'fail' : result.status,
      critical: entry.critical,
      groups: entry.groups,
      componentType: entry.componentType,
      observedValue: result.observedValue,
      observedUnit: result.observedUnit,
      output: stale ? this.staleOutput(result, now) : result.output,
      durationMs: result.durationMs,
      time: result.time,
    };
  }

  /** Keeps a completed run; logs and records a transition when the status changed. */
  private record(entry: CheckEntry, result: RunResult): void {
    if (!this.checks.has(entry.name) || this.checks.get(entry.name) !== entry) return;
    entry.last = result;
    if (result.status === 'pass') entry.lastSuccessEpochMs = result.epochMs;
    const previous = entry.reportedStatus;
    entry.reportedStatus = result.status;
    if (previous !== result.status && !(previous === undefined && result.status === 'pass')) {
      this.transition(entry.name, previous ?? 'unknown', result.status, result.epochMs, {
        check: entry.name,
        critical: entry.critical,
        output: result.output,
        durationMs: Math.round(result.durationMs * 1000) / 1000,
      });
    }
    const overall = this.snapshot().status;
    const before = this.overallReported;
    this.overallReported = overall;
    if (before !== overall && !(before === undefined && overall === 'pass')) {
      this.transition(OVERALL_CHECK, before ?? 'unknown', overall, result.epochMs, { health_service: this.service });
    }
  }

  private transition(check: string, from: string, to: HealthStatus, epochMs: number, fields: Record<string, unknown>): void {
    recentEvents.health.push({ timeEpochMs: epochMs, check, from, to });
    const level = to === 'fail' ? 'error' : to === 'warn' ? 'warn' : 'info';
    const what = check === OVERALL_CHECK ? `service ${this.service}` : `check ${check}`;
    this.log(level, { ...fields, from, to }, `health: ${what} ${from} -> ${to}`);
  }

  private log(level: 'info' | 'warn' | 'error', fields: object, message: string): void {
    const logger = this.logger;
    if (logger === undefined) return;
    try {
      logger[level](fields, message);
    } catch (error) {
      reportError('health.logger', error);
    }
  }
}

/**
 * Creates the health engine: register checks, then serve them with `expressHealth` / `koaHealth`.
 * It announces itself in the core registry as package `health` (metrics, alerts and the dashboard
 * read its snapshot). Nothing runs until a check is registered.
 *
 * @example
 * ```ts
 * const health = createHealth({ service: 'orders', version: '1.4.2' });
 * health
 *   .register('database', async (signal) => { await pool.query('SELECT 1', { signal }); })
 *   .register('cache', async () => (await redis.ping()) === 'PONG', { critical: false, intervalMs: 5000 })
 *   .register('payments', httpCheck('http://payments.internal/healthz'), { intervalMs: 10_000 });
 * ```
 */
export function createHealth(options: HealthOptions): Health {
  return new HealthEngine(options);
}
