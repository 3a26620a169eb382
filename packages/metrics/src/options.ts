import type { Registry } from 'prom-client';
import type { ExtraLabel, MetricNames, MetricsNaming, MetricsOptions } from './types';

/** Options after validation and defaults: read on every request, so computed once. */
export interface NormalizedOptions {
  registry: Registry | undefined;
  prefix: string;
  naming: MetricsNaming;
  buckets: number[] | undefined;
  sizeBuckets: number[];
  defaultMetrics: boolean;
  extraLabelNames: string[];
  extraLabelFns: ExtraLabel[];
  extraLabelLimit: number;
  maxSeries: number;
  idleTimeoutMs: number;
  exemplars: boolean;
  apdexGauge: boolean;
  healthMetrics: boolean;
  includeQuiet: boolean;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(['le', 'quantile', 'method', 'route', 'status_code', 'http_request_method', 'http_route', 'http_response_status_code', 'check', 'metric', 'worker']);

export const DEFAULT_SIZE_BUCKETS = [100, 1000, 10_000, 100_000, 1_000_000, 10_000_000];
export const PROM_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const OTEL_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

function positiveInteger(name: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    fail(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`);
  }
  return value;
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(`${name} must be a boolean, got ${typeof value}`);
  return value;
}

/** Checks a bucket list: a non-empty array of finite numbers, strictly increasing. */
export function checkBuckets(name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) fail(`${name} must be a non-empty array of numbers`);
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const b = value[i];
    if (typeof b !== 'number' || !Number.isFinite(b)) fail(`${name}[${i}] must be a finite number, got ${String(b)}`);
    if (i > 0 && !(b > out[i - 1])) fail(`${name} must be strictly increasing: ${out[i - 1]} is followed by ${b}`);
    out.push(b);
  }
  return out;
}

/** Checks a label name the way Prometheus does. */
export function checkLabelName(where: string, name: string): void {
  if (!LABEL_NAME.test(name) || name.startsWith('__')) fail(`${where}: invalid label name "${name}" (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __)`);
}

/** Validates and normalises `MetricsOptions` once. Throws a `TypeError` naming the bad option. */
export function normalizeOptions(options: MetricsOptions | undefined): NormalizedOptions {
  if (options !== undefined && (options === null || typeof options !== 'object')) fail('options must be an object');
  const o = options ?? {};
  const registry = o.registry;
  if (registry !== undefined && (registry === null || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function')) {
    fail('registry must be a prom-client Registry');
  }
  const prefix = o.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) fail(`prefix must make valid metric names, got "${String(prefix)}"`);
  const naming = o.naming ?? 'prometheus';
  if (naming !== 'prometheus' && naming !== 'otel') fail(`naming must be 'prometheus' or 'otel', got "${String(naming)}"`);
  const buckets = o.buckets === undefined ? undefined : checkBuckets('buckets', o.buckets);
  const sizeBuckets = o.sizeBuckets === undefined ? DEFAULT_SIZE_BUCKETS : checkBuckets('sizeBuckets', o.sizeBuckets);
  const extraLabelNames: string[] = [];
  const extraLabelFns: ExtraLabel[] = [];
  if (o.extraLabels !== undefined) {
    if (o.extraLabels === null || typeof o.extraLabels !== 'object' || Array.isArray(o.extraLabels)) fail('extraLabels must be an object of functions');
    for (const [name, fn] of Object.entries(o.extraLabels)) {
      checkLabelName('extraLabels', name);
      if (RESERVED_LABELS.has(name)) fail(`extraLabels: "${name}" is a label vigil already uses`);
      if (typeof fn !== 'function') fail(`extraLabels.${name} must be a function of the exchange`);
      extraLabelNames.push(name);
      extraLabelFns.push(fn);
    }
  }
  return {
    registry,
    prefix,
    naming,
    buckets,
    sizeBuckets,
    defaultMetrics: booleanOption('defaultMetrics', o.defaultMetrics, true),
    extraLabelNames,
    extraLabelFns,
    extraLabelLimit: positiveInteger('extraLabelLimit', o.extraLabelLimit, 100),
    maxSeries: positiveInteger('maxSeries', o.maxSeries, 10_000),
    idleTimeoutMs: positiveInteger('idleTimeoutMs', o.idleTimeoutMs, 600_000, true),
    exemplars: booleanOption('exemplars', o.exemplars, true),
    apdexGauge: booleanOption('apdexGauge', o.apdexGauge, true),
    healthMetrics: booleanOption('healthMetrics', o.healthMetrics, true),
    includeQuiet: booleanOption('includeQuiet', o.includeQuiet, true),
  };
}

/** Metric and label names for a naming scheme and prefix. */
export function metricNames(naming: MetricsNaming, prefix: string): MetricNames {
  if (naming === 'otel') {
    return {
      requests: undefined,
      duration: `${prefix}http_server_request_duration_seconds`,
      inFlight: `${prefix}http_server_active_requests`,
      requestSize: `${prefix}http_server_request_body_size_bytes`,
      responseSize: `${prefix}http_server_response_body_size_bytes`,
      apdex: `${prefix}http_server_apdex_score`,
      seriesDropped: `${prefix}vigil_metrics_series_dropped_total`,
      labelMethod: 'http_request_method',
      labelRoute: 'http_route',
      labelStatus: 'http_response_status_code',
    };
  }
  return {
    requests: `${prefix}http_requests_total`,
    duration: `${prefix}http_request_duration_seconds`,
    inFlight: `${prefix}http_requests_in_flight`,
    requestSize: `${prefix}http_request_size_bytes`,
    responseSize: `${prefix}http_response_size_bytes`,
    apdex: `${prefix}http_apdex_score`,
    seriesDropped: `${prefix}vigil_metrics_series_dropped_total`,
    labelMethod: 'method',
    labelRoute: 'route',
    labelStatus: 'status_code',
  };
}

/** Duration buckets: the given ones, or the defaults merged with the Apdex T and 4T (seconds). */
export function durationBuckets(naming: MetricsNaming, given: number[] | undefined, apdexT: number): number[] {
  if (given !== undefined) return given;
  const base = naming === 'otel' ? OTEL_DEFAULT_BUCKETS : PROM_DEFAULT_BUCKETS;
  return [...new Set([...base, apdexT, 4 * apdexT])].sort((a, b) => a - b);
}
