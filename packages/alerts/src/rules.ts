import { reportError, type WindowStats } from '@vigil/core';
import { promDuration, toMs } from './duration';
import { checkLabels } from './labels';
import type {
  AlertRule, ApdexRuleOptions, BurnRateRuleOptions, BurnRateWindow, CommonRuleOptions, ErrorRateRuleOptions,
  HealthRuleOptions, LatencyRuleOptions, PrometheusExportOptions, PrometheusRule, RuleContext, RuleKind, RuleSample,
  ThresholdRuleOptions, TrafficScope,
} from './types';

type ExportOptions = Parameters<AlertRule['toPrometheus']>[0];

interface Base {
  name: string;
  forMs: number;
  keepFiringForMs: number;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  expr: string | undefined;
}

const NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function base(kind: RuleKind, o: CommonRuleOptions | undefined, defaults: { name?: string; severity: string; annotations: Record<string, string> }): Base {
  if (o !== undefined && (o === null || typeof o !== 'object')) throw new TypeError(`vigil alerts: ${kind}Rule options must be an object`);
  const opts = o ?? {};
  const name = opts.name ?? defaults.name;
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new TypeError(`vigil alerts: ${kind}Rule name must be a valid alert name ([a-zA-Z_][a-zA-Z0-9_]*), got ${JSON.stringify(name)}`);
  const severity = opts.severity ?? defaults.severity;
  if (typeof severity !== 'string' || severity === '') throw new TypeError(`vigil alerts: ${kind}Rule severity must be a non-empty string`);
  if (opts.annotations !== undefined && (opts.annotations === null || typeof opts.annotations !== 'object')) throw new TypeError(`vigil alerts: ${kind}Rule annotations must be an object of strings`);
  const annotations = { ...defaults.annotations, ...(opts.annotations ?? {}) };
  for (const [k, v] of Object.entries(annotations)) if (typeof v !== 'string') throw new TypeError(`vigil alerts: ${kind}Rule annotations.${k} must be a string`);
  if (opts.expr !== undefined && (typeof opts.expr !== 'string' || opts.expr.trim() === '')) throw new TypeError(`vigil alerts: ${kind}Rule expr must be a PromQL string`);
  return {
    name,
    forMs: toMs(opts.for, `${kind}Rule for`, 0),
    keepFiringForMs: toMs(opts.keepFiringFor, `${kind}Rule keepFiringFor`, 0),
    severity,
    labels: checkLabels(opts.labels, `${kind}Rule labels`),
    annotations,
    expr: opts.expr,
  };
}

function promRule(b: Base, expr: string, labels: Record<string, string> = {}): PrometheusRule {
  const rule: PrometheusRule = { alert: b.name, expr };
  if (b.forMs > 0) rule.for = promDuration(b.forMs);
  if (b.keepFiringForMs > 0) rule.keep_firing_for = promDuration(b.keepFiringForMs);
  rule.labels = { severity: b.severity, ...b.labels, ...labels };
  if (Object.keys(b.annotations).length > 0) rule.annotations = { ...b.annotations };
  return rule;
}

function makeRule(kind: RuleKind, b: Base, evaluate: (ctx: RuleContext) => RuleSample[], toProm: ((o: ExportOptions) => PrometheusRule[]) | undefined, validate?: (ctx: RuleContext) => void, usesSloWindows: AlertRule['usesSloWindows'] = false): AlertRule {
  return {
    kind,
    usesSloWindows,
    name: b.name,
    forMs: b.forMs,
    keepFiringForMs: b.keepFiringForMs,
    severity: b.severity,
    labels: b.labels,
    annotations: b.annotations,
    evaluate,
    validate,
    toPrometheus(o) {
      if (b.expr !== undefined) return [promRule(b, b.expr)];
      return toProm === undefined ? undefined : toProm(o);
    },
  } as AlertRule;
}

/** A number formatted for PromQL without float noise (0.1 * 3 → 0.3). */
function num(n: number): string {
  return String(Number(n.toPrecision(12)));
}

function quote(value: string): string {
  return JSON.stringify(value);
}

interface Scope {
  windowMs: number;
  route: string | undefined;
  byRoute: boolean;
  minRequests: number;
}

function scope(kind: RuleKind, o: TrafficScope | undefined): Scope {
  const s = o ?? {};
  if (s.route !== undefined && (typeof s.route !== 'string' || s.route === '')) throw new TypeError(`vigil alerts: ${kind}Rule route must be a route template string`);
  if (s.route !== undefined && s.byRoute === true) throw new TypeError(`vigil alerts: ${kind}Rule takes route or byRoute, not both`);
  const minRequests = s.minRequests ?? 1;
  if (!(Number.isFinite(minRequests) && minRequests >= 0)) throw new TypeError(`vigil alerts: ${kind}Rule minRequests must be a non-negative number`);
  const windowMs = toMs(s.window, `${kind}Rule window`, 300_000);
  if (windowMs <= 0) throw new TypeError(`vigil alerts: ${kind}Rule window must be positive`);
  return { windowMs, route: s.route, byRoute: s.byRoute === true, minRequests };
}

function selector(job: string, route: string | undefined, extra = ''): string {
  return `job=${quote(job)}${route === undefined ? '' : `,route=${quote(route)}`}${extra}`;
}

/** PromQL guard for `minRequests` (nothing when it is 0 or 1: no traffic gives no series anyway). */
function minRequestsClause(o: ExportOptions, s: Scope): string {
  if (s.minRequests <= 1) return '';
  const by = s.byRoute ? ' by (route)' : '';
  return `\nand\nsum${by}(increase(${o.requestsMetric}{${selector(o.job, s.route)}}[${promDuration(s.windowMs)}])) >= ${num(s.minRequests)}`;
}

function requireTrafficWindow(kind: RuleKind, name: string, s: Scope, ctx: RuleContext): void {
  if (!ctx.traffic.windowsMs.includes(s.windowMs)) {
    throw new TypeError(`vigil alerts: ${kind}Rule ${name} reads a ${promDuration(s.windowMs)} window; the traffic windows are ${ctx.traffic.windowsMs.map(promDuration).join(', ')} (pass createAlerts({ traffic }) with that window)`);
  }
}

/** Samples of a stats-based rule: all traffic, one route, or every route. */
function statsSamples(s: Scope, ctx: RuleContext, judge: (stats: WindowStats, route: string | undefined) => RuleSample | undefined): RuleSample[] {
  const out: RuleSample[] = [];
  if (s.byRoute) {
    for (const route of ctx.traffic.routes()) {
      const stats = ctx.traffic.route(route, s.windowMs);
      if (stats === undefined || stats.count < Math.max(1, s.minRequests)) continue;
      const sample = judge(stats, route);
      if (sample !== undefined) out.push(sample);
    }
    return out;
  }
  const stats = s.route === undefined ? ctx.traffic.overall(s.windowMs) : ctx.traffic.route(s.route, s.windowMs);
  if (stats === undefined || stats.count < Math.max(1, s.minRequests)) return out;
  const sample = judge(stats, undefined);
  if (sample !== undefined) out.push(sample);
  return out;
}

/**
 * A rule on any value: active while `value(ctx) <op> threshold`. `toPrometheusRules` exports it
 * only when `expr` (PromQL) is given.
 *
 * @example
 * ```ts
 * thresholdRule({ name: 'HighHeap', value: () => process.memoryUsage().heapUsed, op: '>', threshold: 1.5e9,
 *   for: '5m', annotations: { summary: 'Heap is {{ $value | humanize }}B' } });
 * ```
 */
export function thresholdRule(options: ThresholdRuleOptions): AlertRule {
  if (options === null || typeof options !== 'object') throw new TypeError('vigil alerts: thresholdRule needs { name, value, threshold }');
  const b = base('threshold', options, { severity: 'warning', annotations: { summary: `${options.name} is {{ $value }} (threshold: ${options.threshold})` } });
  if (typeof options.value !== 'function') throw new TypeError('vigil alerts: thresholdRule value must be a function returning a number');
  if (typeof options.threshold !== 'number' || Number.isNaN(options.threshold)) throw new TypeError('vigil alerts: thresholdRule threshold must be a number');
  const op = options.op ?? '>';
  const compare = op === '>' ? (v: number, t: number) => v > t : op === '<' ? (v: number, t: number) => v < t : op === '>=' ? (v: number, t: number) => v >= t : op === '<=' ? (v: number, t: number) => v <= t : undefined;
  if (compare === undefined) throw new TypeError(`vigil alerts: thresholdRule op must be '>', '<', '>=' or '<=', got ${JSON.stringify(op)}`);
  const read = options.value;
  const threshold = options.threshold;
  return makeRule('threshold', b, (ctx) => {
    let value: number;
    try {
      value = Number(read(ctx));
    } catch (error) {
      reportError('alerts.thresholdRule', error);
      return [];
    }
    if (Number.isNaN(value)) return [];
    return [{ value, active: compare(value, threshold) }];
  }, undefined);
}

/**
 * Share of failed requests over a window, from the core traffic windows (the guide's
 * HighErrorRate: above 5 % over 5 m, for 5 m). A window the traffic windows do not have is read
 * from the long counters (`SloWindows`) instead.
 *
 * @example
 * ```ts
 * errorRateRule({ threshold: 0.05, window: '5m', for: '5m' });            // HighErrorRate
 * errorRateRule({ name: 'CheckoutErrors', route: '/checkout', threshold: 0.01, severity: 'critical' });
 * ```
 */
export function errorRateRule(options: ErrorRateRuleOptions = {}): AlertRule {
  const s = scope('errorRate', options);
  const b = base('errorRate', options, {
    name: 'HighErrorRate', severity: 'warning',
    annotations: {
      summary: s.byRoute ? 'High error rate on {{ $labels.route }}' : 'High error rate detected',
      description: 'Error rate is {{ $value | humanizePercentage }}',
    },
  });
  const threshold = options.threshold ?? 0.05;
  if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) throw new TypeError(`vigil alerts: errorRateRule threshold must be a ratio in [0, 1], got ${threshold}`);
  const judge = (stats: { count: number; errorRatio: number }, route: string | undefined): RuleSample => ({
    labels: route === undefined ? undefined : { route },
    value: stats.errorRatio,
    active: stats.errorRatio > threshold,
  });
  const readsSlo = (ctx: RuleContext): boolean => !s.byRoute && !ctx.traffic.windowsMs.includes(s.windowMs);
  return makeRule('errorRate', b, (ctx) => {
    if (!readsSlo(ctx)) return statsSamples(s, ctx, judge);
    const counts = ctx.slo.counts(s.windowMs, s.route, ctx.now);
    if (counts === undefined) {
      ctx.slo.track(s.route as string);
      return [];
    }
    return counts.count < Math.max(1, s.minRequests) ? [] : [judge(counts, undefined)];
  }, (o) => {
    const w = promDuration(s.windowMs);
    const by = s.byRoute ? ' by (route)' : '';
    const expr = `sum${by}(rate(${o.requestsMetric}{${selector(o.job, s.route, ',status_code=~"5.."')}}[${w}]))\n/\nsum${by}(rate(${o.requestsMetric}{${selector(o.job, s.route)}}[${w}]))\n> ${num(threshold)}${minRequestsClause(o, s)}`;
    return [promRule(b, expr)];
  }, (ctx) => {
    if (s.byRoute) requireTrafficWindow('errorRate', b.name, s, ctx);
    else if (readsSlo(ctx) && s.windowMs > ctx.slo.maxWindowMs) requireTrafficWindow('errorRate', b.name, s, ctx);
    else if (readsSlo(ctx) && s.route !== undefined) ctx.slo.track(s.route);
  }, readsSlo);
}

/**
 * A latency quantile over a window (the guide's HighLatency: p95 above 1 s over 5 m, for 10 m).
 * The value is in seconds, as in Prometheus.
 *
 * @example
 * ```ts
 * latencyRule({ quantile: 0.95, threshold: '1s', for: '10m' });           // HighLatency
 * latencyRule({ name: 'SlowSearch', route: '/search', quantile: 0.99, threshold: 2000 });
 * ```
 */
export function latencyRule(options: LatencyRuleOptions = {}): AlertRule {
  const s = scope('latency', options);
  const quantile = options.quantile ?? 0.95;
  if (!(typeof quantile === 'number' && quantile > 0 && quantile < 1)) throw new TypeError(`vigil alerts: latencyRule quantile must be in (0, 1), got ${quantile}`);
  const thresholdMs = toMs(options.threshold, 'latencyRule threshold', 1000);
  const pct = num(quantile * 100);
  const b = base('latency', options, {
    name: 'HighLatency', severity: 'warning',
    annotations: {
      summary: s.byRoute ? 'High latency on {{ $labels.route }}' : 'High latency detected',
      description: `P${pct} latency is {{ $value | humanizeDuration }}`,
    },
  });
  const field = quantile === 0.5 ? 'p50' : quantile === 0.95 ? 'p95' : quantile === 0.99 ? 'p99' : undefined;
  return makeRule('latency', b, (ctx) => statsSamples(s, ctx, (stats, route) => {
    const ms = field !== undefined ? stats[field] : ctx.traffic.quantile(quantile, route ?? s.route, s.windowMs);
    if (Number.isNaN(ms)) return undefined;
    return { labels: route === undefined ? undefined : { route }, value: ms / 1000, active: ms > thresholdMs };
  }), (o) => {
    const by = s.byRoute ? 'le, route' : 'le';
    const expr = `histogram_quantile(${num(quantile)}, sum by (${by}) (rate(${o.durationMetric}_bucket{${selector(o.job, s.route)}}[${promDuration(s.windowMs)}])))\n> ${num(thresholdMs / 1000)}${minRequestsClause(o, s)}`;
    return [promRule(b, expr)];
  }, (ctx) => requireTrafficWindow('latency', b.name, s, ctx));
}

/**
 * Apdex over a window below a floor (satisfied ≤ T, tolerating ≤ 4T, T = the traffic windows'
 * `apdexThresholdMs`, 500 ms by default).
 *
 * @example
 * ```ts
 * apdexRule({ below: 0.85, window: '5m', for: '10m' }); // LowApdex
 * ```
 */
export function apdexRule(options: ApdexRuleOptions = {}): AlertRule {
  const s = scope('apdex', options);
  const below = options.below ?? 0.85;
  if (!(typeof below === 'number' && below > 0 && below <= 1)) throw new TypeError(`vigil alerts: apdexRule below must be in (0, 1], got ${below}`);
  const b = base('apdex', options, {
    name: 'LowApdex', severity: 'warning',
    annotations: { summary: s.byRoute ? 'Low Apdex on {{ $labels.route }}' : 'Low Apdex', description: `Apdex is {{ $value }} (floor ${below})` },
  });
  return makeRule('apdex', b, (ctx) => statsSamples(s, ctx, (stats, route) => ({
    labels: route === undefined ? undefined : { route }, value: stats.apdex, active: stats.apdex < below,
  })), (o) => {
    const w = promDuration(s.windowMs);
    const by = s.byRoute ? ' by (route)' : '';
    const t = o.apdexThresholdSeconds;
    const bucket = (le: number): string => `sum${by}(rate(${o.durationMetric}_bucket{${selector(o.job, s.route, `,le=${quote(num(le))}`)}}[${w}]))`;
    const expr = `(\n  ${bucket(t)}\n  +\n  ${bucket(4 * t)}\n) / 2\n/\nsum${by}(rate(${o.durationMetric}_count{${selector(o.job, s.route)}}[${w}]))\n< ${num(below)}${minRequestsClause(o, s)}`;
    return [promRule(b, expr)];
  }, (ctx) => requireTrafficWindow('apdex', b.name, s, ctx));
}

/** The Google SRE workbook's multiwindow, multi-burn-rate alerts (chapter 5, table 5-8). */
const SRE_WORKBOOK_WINDOWS: BurnRateWindow[] = [
  { long: '1h', short: '5m', factor: 14.4, severity: 'critical' },
  { long: '6h', short: '30m', factor: 6, severity: 'critical' },
  { long: '3d', short: '6h', factor: 1, severity: 'warning' },
];

/**
 * Error-budget burn rate of an SLO with multi-window, multi-burn-rate conditions (Google SRE
 * workbook): by default it pages (`critical`) when 2 % of a 30-day budget burns in 1 h (14.4× over
 * 1 h and 5 m) or 5 % in 6 h (6× over 6 h and 30 m), and opens a ticket (`warning`) at 1× over 3 d
 * and 6 h. One alert per severity (label `severity`); its value is the long-window burn rate.
 * Counts come from `SloWindows` (alerts keeps 3 days of request/error counts itself).
 *
 * @example
 * ```ts
 * burnRateRule({ objective: 0.999 });                         // ErrorBudgetBurn, page + ticket
 * burnRateRule({ name: 'CheckoutBudget', objective: 0.995, route: '/checkout' });
 * ```
 */
export function burnRateRule(options: BurnRateRuleOptions): AlertRule {
  if (options === null || typeof options !== 'object') throw new TypeError('vigil alerts: burnRateRule needs { objective }');
  const objective = options.objective;
  if (!(typeof objective === 'number' && objective > 0 && objective < 1)) throw new TypeError(`vigil alerts: burnRateRule objective must be in (0, 1) (e.g. 0.999), got ${objective}`);
  const route = options.route;
  if (route !== undefined && (typeof route !== 'string' || route === '')) throw new TypeError('vigil alerts: burnRateRule route must be a route template string');
  const minRequests = options.minRequests ?? 1;
  const windowsIn = options.windows ?? SRE_WORKBOOK_WINDOWS;
  if (!Array.isArray(windowsIn) || windowsIn.length === 0) throw new TypeError('vigil alerts: burnRateRule windows must be a non-empty array');
  const windows = windowsIn.map((w, i) => {
    const longMs = toMs(w.long, `burnRateRule windows[${i}].long`);
    const shortMs = toMs(w.short, `burnRateRule windows[${i}].short`);
    if (!(longMs > 0 && shortMs > 0 && shortMs <= longMs)) throw new TypeError(`vigil alerts: burnRateRule windows[${i}] needs 0 < short <= long`);
    if (!(typeof w.factor === 'number' && w.factor > 0)) throw new TypeError(`vigil alerts: burnRateRule windows[${i}].factor must be positive`);
    if (typeof w.severity !== 'string' || w.severity === '') throw new TypeError(`vigil alerts: burnRateRule windows[${i}].severity must be a string`);
    return { longMs, shortMs, factor: w.factor, severity: w.severity };
  });
  const severities = [...new Set(windows.map((w) => w.severity))];
  const budget = 1 - objective;
  const b = base('burnRate', { ...options, severity: severities[0] }, {
    name: 'ErrorBudgetBurn', severity: severities[0],
    annotations: {
      summary: `Error budget of the ${num(objective * 100)}% SLO${route === undefined ? '' : ` on ${route}`} is burning`,
      description: 'Burning the error budget at {{ $value | humanize }}x the sustainable rate',
    },
  });
  return makeRule('burnRate', b, (ctx) => {
    const out: RuleSample[] = [];
    for (const severity of severities) {
      let value = Number.NaN;
      let active = false;
      for (const w of windows) {
        if (w.severity !== severity) continue;
        const long = ctx.slo.counts(w.longMs, route, ctx.now);
        if (long === undefined) {
          ctx.slo.track(route as string);
          return [];
        }
        if (long.count < Math.max(1, minRequests)) continue;
        const short = ctx.slo.counts(w.shortMs, route, ctx.now) as { errorRatio: number; count: number };
        const burnLong = long.errorRatio / budget;
        const burnShort = short.errorRatio / budget;
        const holds = burnLong > w.factor && short.count > 0 && burnShort > w.factor;
        if (holds && !active) { active = true; value = burnLong; }
        else if (!active && !(burnLong <= value)) value = burnLong;
      }
      if (!Number.isNaN(value)) out.push({ labels: { severity }, value, active });
    }
    return out;
  }, (o) => {
    const ratio = (ms: number): string => {
      const w = promDuration(ms);
      return `sum(rate(${o.requestsMetric}{${selector(o.job, route, ',status_code=~"5.."')}}[${w}]))\n  /\n  sum(rate(${o.requestsMetric}{${selector(o.job, route)}}[${w}]))`;
    };
    return severities.map((severity) => {
      // Divided by the budget, the value is the burn rate (as in process), compared with the factor.
      const parts = windows.filter((w) => w.severity === severity).map((w) =>
        `(\n  (\n  ${ratio(w.longMs)}\n  ) / ${num(budget)} > ${num(w.factor)}\nand\n  (\n  ${ratio(w.shortMs)}\n  ) / ${num(budget)} > ${num(w.factor)}\n)`);
      return promRule(b, parts.join('\nor\n'), { severity });
    });
  }, (ctx) => {
    const longest = Math.max(...windows.map((w) => w.longMs));
    if (longest > ctx.slo.maxWindowMs) throw new TypeError(`vigil alerts: burnRateRule ${b.name} needs a ${promDuration(longest)} window; the SLO windows keep ${promDuration(ctx.slo.maxWindowMs)}`);
    if (route !== undefined) ctx.slo.track(route);
  }, true);
}

/**
 * A health check failing, read from the health package through the core registry
 * (`registeredPackage('health')`); without a health package it never fires. One alert per
 * check (label `check`) unless `check` names one. Exported to Prometheus on the metrics
 * package's `health_check_status{check}` gauge (except with `criticalOnly`, which the gauge
 * cannot tell).
 *
 * @example
 * ```ts
 * healthRule({ check: 'database', for: '1m' });      // HealthCheckFailing{check="database"}
 * healthRule({ criticalOnly: true, status: 'warn' });
 * ```
 */
export function healthRule(options: HealthRuleOptions = {}): AlertRule {
  const b = base('health', options, {
    name: 'HealthCheckFailing', severity: 'critical',
    annotations: { summary: 'Health check {{ $labels.check }} is failing' },
  });
  const status = options.status ?? 'fail';
  if (status !== 'fail' && status !== 'warn') throw new TypeError(`vigil alerts: healthRule status must be 'fail' or 'warn', got ${JSON.stringify(status)}`);
  if (options.check !== undefined && (typeof options.check !== 'string' || options.check === '')) throw new TypeError('vigil alerts: healthRule check must be a check name');
  const only = options.check;
  const criticalOnly = options.criticalOnly === true;
  return makeRule('health', b, (ctx) => {
    const snapshot = ctx.health();
    if (snapshot === undefined || !Array.isArray(snapshot.checks)) return [];
    const out: RuleSample[] = [];
    for (const check of snapshot.checks) {
      if (only !== undefined && check.name !== only) continue;
      if (criticalOnly && !check.critical) continue;
      const bad = check.status === 'fail' || (status === 'warn' && check.status === 'warn');
      out.push({ labels: { check: check.name }, value: bad ? 1 : 0, active: bad });
    }
    return out;
  }, criticalOnly ? undefined : (o) => {
    // @vigil/metrics exposes health_check_status{check} (1 pass, 0.5 warn, 0 fail)
    const expr = `${o.healthMetric}{${selector(o.job, undefined, only === undefined ? '' : `,check=${quote(only)}`)}} ${status === 'fail' ? '== 0' : '< 1'}`;
    return [promRule(b, expr)];
  });
}

/** Default names of the export metrics (what `@vigil/metrics` exposes by default). */
export const DEFAULT_EXPORT: Omit<ExportOptions, 'job'> = {
  requestsMetric: 'http_requests_total',
  durationMetric: 'http_request_duration_seconds',
  apdexThresholdSeconds: 0.5,
  healthMetric: 'health_check_status',
};

export type { ExportOptions, PrometheusExportOptions };
