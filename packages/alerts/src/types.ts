import type { AlertsSnapshot, HealthSnapshot, TrafficWindows } from '@vigil/core';
import type { SloWindows } from './slo-windows';

/**
 * A length of time: milliseconds as a number, or a Prometheus-style string (`'30s'`, `'5m'`,
 * `'1h30m'`, `'3d'`, `'500ms'`).
 *
 * @example
 * ```ts
 * const wait: Duration = '30s'; // same as 30_000
 * ```
 */
export type Duration = number | string;

/**
 * A set of labels. An alert's labels are its identity (its fingerprint is computed from them).
 *
 * @example
 * ```ts
 * const labels: Labels = { alertname: 'HighErrorRate', severity: 'warning', service: 'orders' };
 * ```
 */
export type Labels = Record<string, string>;

/**
 * Label matchers, as used by routes, silences and inhibition: every entry must match. A string
 * matches equal values; a RegExp must match the whole value (it is anchored); a label that is
 * absent has the value `''`.
 *
 * @example
 * ```ts
 * const m: Matchers = { alertname: 'HighLatency', severity: /warning|info/ };
 * ```
 */
export type Matchers = Record<string, string | RegExp>;

/**
 * What a rule can read when it is evaluated.
 *
 * @example
 * ```ts
 * const rule = thresholdRule({ name: 'SlowP99', value: () => 0, threshold: 1 });
 * rule.evaluate({ now: Date.now(), traffic: trafficWindows(), slo, health: () => undefined });
 * ```
 */
export interface RuleContext {
  /** Evaluation time, epoch ms (the alerts' clock). */
  now: number;
  /** Short rolling windows (core `trafficWindows()` unless `createAlerts({ traffic })` replaced them). */
  traffic: TrafficWindows;
  /** Long counts-only windows for error budgets (burn rates, long error-rate windows). */
  slo: SloWindows;
  /** The health package's snapshot, when a health package registered itself in the core. */
  health(): HealthSnapshot | undefined;
}

/**
 * One element of a rule's result, like one series of a PromQL expression: extra labels (which
 * make it a separate alert), its value, and whether the alert condition holds.
 *
 * @example
 * ```ts
 * const sample: RuleSample = { labels: { route: '/users/:id' }, value: 0.12, active: true };
 * ```
 */
export interface RuleSample {
  labels?: Labels;
  value: number;
  active: boolean;
}

/**
 * One Prometheus alerting rule (an entry of a rule group's `rules:` list).
 *
 * @example
 * ```ts
 * const r: PrometheusRule = { alert: 'ServiceDown', expr: 'up{job="orders"} == 0', for: '1m',
 *   labels: { severity: 'critical' }, annotations: { summary: 'Service is down' } };
 * ```
 */
export interface PrometheusRule {
  alert: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}

/**
 * Options of `toPrometheusRules` (and what a rule's PromQL is written against).
 *
 * @example
 * ```ts
 * const options: PrometheusExportOptions = { job: 'orders', groupName: 'orders_alerts', interval: '30s' };
 * ```
 */
export interface PrometheusExportOptions {
  /** The scrape job of the service (`job="..."` in every selector). Required. */
  job: string;
  /** Rule group name (default `<job>_alerts`, with non-word characters replaced by `_`). */
  groupName?: string;
  /** Evaluation interval of the group (default `30s`). */
  interval?: Duration;
  /** Add the guide's `ServiceDown` rule (`up{job} == 0` for 1m, critical) (default `true`). */
  serviceDown?: boolean;
  /** Request counter name (default `http_requests_total`, labels `method`, `route`, `status_code`). */
  requestsMetric?: string;
  /** Latency histogram base name (default `http_request_duration_seconds`; `_bucket`, `_count` are appended). */
  durationMetric?: string;
  /** Apdex target T in seconds for `apdexRule` (default 0.5); the histogram needs buckets at T and 4T. */
  apdexThresholdSeconds?: number;
  /** Health gauge for `healthRule` (default `health_check_status`: 1 pass, 0.5 warn, 0 fail, label `check`). */
  healthMetric?: string;
}

/**
 * Which factory made a rule.
 *
 * @example
 * ```ts
 * const kind: RuleKind = burnRateRule({ objective: 0.999 }).kind; // 'burnRate'
 * ```
 */
export type RuleKind = 'threshold' | 'errorRate' | 'latency' | 'apdex' | 'burnRate' | 'health';

/**
 * An alert rule: made by `thresholdRule`, `errorRateRule`, `latencyRule`, `apdexRule`,
 * `burnRateRule` or `healthRule`, evaluated by `createAlerts`.
 *
 * @example
 * ```ts
 * const rule: AlertRule = errorRateRule({ threshold: 0.05, window: '5m', for: '5m' });
 * rule.name; // 'HighErrorRate'
 * ```
 */
export interface AlertRule {
  readonly kind: RuleKind;
  /** The alert name (`alertname` label). */
  readonly name: string;
  /** How long the condition must hold before the alert fires, ms. */
  readonly forMs: number;
  /** How long a firing alert keeps firing after the condition stopped holding, ms. */
  readonly keepFiringForMs: number;
  /** `severity` label. */
  readonly severity: string;
  /** Extra labels (identity). */
  readonly labels: Readonly<Labels>;
  /** Annotation templates (`{{ $value }}`, `{{ $labels.x }}`, `{{ $value | humanizePercentage }}`). */
  readonly annotations: Readonly<Record<string, string>>;
  /** Evaluates the rule now. */
  evaluate(ctx: RuleContext): RuleSample[];
  /** Called once by `createAlerts`: throws a `TypeError` when the rule cannot read these windows. */
  validate?(ctx: RuleContext): void;
  /**
   * `true` when the rule reads the long `SloWindows` (so `createAlerts` feeds them); a function
   * when that depends on the windows it is given (called once, with the validation context).
   */
  readonly usesSloWindows?: boolean | ((ctx: RuleContext) => boolean);
  /** The rule in PromQL, or `undefined` when its source is not a vigil metric. */
  toPrometheus(options: Required<Omit<PrometheusExportOptions, 'groupName' | 'interval' | 'serviceDown'>>): PrometheusRule[] | undefined;
}

/**
 * Options every rule factory takes.
 *
 * @example
 * ```ts
 * const common: CommonRuleOptions = { name: 'CheckoutErrors', for: '2m', keepFiringFor: '5m',
 *   severity: 'critical', labels: { team: 'payments' },
 *   annotations: { summary: '{{ $labels.route }} failing', description: 'Error rate {{ $value | humanizePercentage }}' } };
 * ```
 */
export interface CommonRuleOptions {
  /** Alert name (`alertname`). Each factory has a default. */
  name?: string;
  /** Pending time before firing (default 0: fire on the first evaluation that holds). */
  for?: Duration;
  /** Keep firing this long after the condition clears (default 0). */
  keepFiringFor?: Duration;
  /** Severity label (each factory has a default). */
  severity?: string;
  /** Extra labels. */
  labels?: Labels;
  /** Annotations (templates); merged over the factory's defaults. */
  annotations?: Record<string, string>;
  /** PromQL expression used by `toPrometheusRules` instead of the generated one. */
  expr?: string;
}

/**
 * Options of `thresholdRule`.
 *
 * @example
 * ```ts
 * const o: ThresholdRuleOptions = { name: 'HighHeap', value: () => process.memoryUsage().heapUsed, op: '>', threshold: 1e9 };
 * ```
 */
export interface ThresholdRuleOptions extends CommonRuleOptions {
  name: string;
  /** Reads the current value (NaN or a throw means "no data": the alert is not active). */
  value: (ctx: RuleContext) => number;
  /** Comparison (default `>`). */
  op?: '>' | '<' | '>=' | '<=';
  threshold: number;
}

/**
 * Which traffic a request-based rule looks at.
 *
 * @example
 * ```ts
 * const scope: TrafficScope = { window: '5m', byRoute: true, minRequests: 20 };
 * ```
 */
export interface TrafficScope {
  /** Window (default `5m`). Must be one of the traffic windows for latency and Apdex (core default 1m, 5m, 1h). */
  window?: Duration;
  /** Only this route template. */
  route?: string;
  /** One alert per route (label `route`) instead of one for all traffic. */
  byRoute?: boolean;
  /** Fewer requests than this in the window means "no data" (default 1). */
  minRequests?: number;
}

/**
 * Options of `errorRateRule` (errors are requests whose outcome is not `ok`: 5xx, thrown errors,
 * timeouts, client aborts, as the core windows count them).
 *
 * @example
 * ```ts
 * const o: ErrorRateRuleOptions = { threshold: 0.05, window: '5m', for: '5m' };
 * ```
 */
export interface ErrorRateRuleOptions extends CommonRuleOptions, TrafficScope {
  /** Error ratio above which the rule is active (default 0.05). */
  threshold?: number;
}

/**
 * Options of `latencyRule`. The value is in seconds, as in Prometheus.
 *
 * @example
 * ```ts
 * const o: LatencyRuleOptions = { quantile: 0.95, threshold: '1s', window: '5m', for: '10m' };
 * ```
 */
export interface LatencyRuleOptions extends CommonRuleOptions, TrafficScope {
  /** Quantile (default 0.95). */
  quantile?: number;
  /** Latency above which the rule is active (default `1s`). */
  threshold?: Duration;
}

/**
 * Options of `apdexRule` (Apdex target T is the traffic windows' `apdexThresholdMs`).
 *
 * @example
 * ```ts
 * const o: ApdexRuleOptions = { below: 0.85, window: '5m' };
 * ```
 */
export interface ApdexRuleOptions extends CommonRuleOptions, TrafficScope {
  /** Apdex below which the rule is active (default 0.85). */
  below?: number;
}

/**
 * One multi-window burn-rate condition: the burn rate over both windows exceeds `factor`.
 *
 * @example
 * ```ts
 * const page: BurnRateWindow = { long: '1h', short: '5m', factor: 14.4, severity: 'critical' };
 * ```
 */
export interface BurnRateWindow {
  long: Duration;
  short: Duration;
  factor: number;
  severity: string;
}

/**
 * Options of `burnRateRule`.
 *
 * @example
 * ```ts
 * const o: BurnRateRuleOptions = { objective: 0.999, route: '/checkout' };
 * ```
 */
export interface BurnRateRuleOptions extends Omit<CommonRuleOptions, 'severity'> {
  /** SLO as a fraction of good requests, e.g. 0.999. Required. */
  objective: number;
  /** Only this route template (default all traffic). */
  route?: string;
  /**
   * The windows (default, from the Google SRE workbook: 1h/5m at 14.4 and 6h/30m at 6 page as
   * `critical`; 3d/6h at 1 is a `warning` ticket).
   */
  windows?: BurnRateWindow[];
  /** Fewer requests than this in a long window means "no data" (default 1). */
  minRequests?: number;
}

/**
 * Options of `healthRule`.
 *
 * @example
 * ```ts
 * const o: HealthRuleOptions = { check: 'database', status: 'fail', for: '1m' };
 * ```
 */
export interface HealthRuleOptions extends CommonRuleOptions {
  /** One check by name; without it, one alert per check (label `check`). */
  check?: string;
  /** `fail` (default) fires on failing checks; `warn` fires on warn and fail. */
  status?: 'fail' | 'warn';
  /** Only checks marked critical (default false). */
  criticalOnly?: boolean;
}

/**
 * One alert as channels receive it (the Alertmanager webhook alert, plus the value and severity).
 *
 * @example
 * ```ts
 * const a: NotifiedAlert = { status: 'firing', labels: { alertname: 'HighErrorRate', severity: 'warning' },
 *   annotations: { summary: 'High error rate' }, startsAt: '2026-11-25T12:00:00.000Z',
 *   endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: '4c3f0a9e1d2b7c65', value: 0.1, severity: 'warning' };
 * ```
 */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  /** RFC 3339; `0001-01-01T00:00:00Z` while firing (as Alertmanager sends it). */
  endsAt: string;
  generatorURL: string;
  /** 16 hex digits, stable for a label set. */
  fingerprint: string;
  value: number | undefined;
  severity: string;
}

/**
 * What a channel is asked to deliver: one group of alerts (the Alertmanager webhook payload fields).
 *
 * @example
 * ```ts
 * const n: Notification = { receiver: 'slack', status: 'firing', alerts: [], groupLabels: { alertname: 'HighLatency' },
 *   commonLabels: {}, commonAnnotations: {}, groupKey: '{}:{alertname="HighLatency"}', externalURL: '', truncatedAlerts: 0 };
 * ```
 */
export interface Notification {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: NotifiedAlert[];
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Record<string, string>;
  groupKey: string;
  externalURL: string;
  truncatedAlerts: number;
}

/**
 * Delivery settings of a channel (one delivery layer serves every channel).
 *
 * @example
 * ```ts
 * const d: DeliveryOptions = { timeoutMs: 5000, maxAttempts: 8, backoffMs: 500, maxBackoffMs: 60_000, maxQueue: 100 };
 * ```
 */
export interface DeliveryOptions {
  /** Timeout of one send attempt, ms (default 10 000). */
  timeoutMs?: number;
  /** Attempts per notification before it is given up (default 10). */
  maxAttempts?: number;
  /** First retry delay, ms; doubles each attempt, with full jitter (default 500). */
  backoffMs?: number;
  /** Largest retry delay, ms (default 60 000). */
  maxBackoffMs?: number;
  /** Notifications waiting per channel; past it the oldest is dropped and counted (default 100). */
  maxQueue?: number;
}

/**
 * A notification target. Built-in ones come from `slackChannel`, `pagerDutyChannel`,
 * `emailChannel`, `webhookChannel`, `alertmanagerChannel` and `logChannel`; any object of this
 * shape works.
 *
 * @example
 * ```ts
 * const consoleChannel: Channel = {
 *   name: 'console', kind: 'custom',
 *   async send(n) { console.log(n.status, n.alerts.map((a) => a.labels.alertname)); },
 * };
 * ```
 */
export interface Channel {
  /** Name used by routes and in stats. */
  readonly name: string;
  /** What it is (`slack`, `pagerduty`, ...). */
  readonly kind: string;
  /**
   * `grouped` (default): receives routed, grouped notifications. `raw`: receives every firing
   * alert on each evaluation (at most every `resendMs`) and each resolve, bypassing routing,
   * silences and inhibition (for Alertmanager, which does those itself).
   */
  readonly mode?: 'grouped' | 'raw';
  /** For `raw` channels: how often firing alerts are re-sent, ms (default 60 000). */
  readonly resendMs?: number;
  /** Delivers one notification. Reject with a `DeliveryError` to control retries. */
  send(notification: Notification, signal: AbortSignal): Promise<void>;
  /** Delivery settings for this channel. */
  readonly delivery?: DeliveryOptions;
  /** At most one send per `minIntervalMs` for every channel sharing `key` (e.g. a Slack webhook URL). */
  readonly rateLimit?: { key: string; minIntervalMs: number };
  /** Releases resources (pooled connections). */
  close?(): Promise<void>;
}

/**
 * Counters of one channel's delivery.
 *
 * @example
 * ```ts
 * const s: ChannelStats = alerts.deliveryStats().slack; // { sent: 3, failed: 0, dropped: 0, retries: 1, queued: 0 }
 * ```
 */
export interface ChannelStats {
  /** Notifications delivered (to at least one recipient, for email). */
  sent: number;
  /** Notifications given up after `maxAttempts` or a non-retryable answer. */
  failed: number;
  /** Notifications dropped because the outbox was full. */
  dropped: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** Notifications waiting now (including one in flight). */
  queued: number;
}

/**
 * A route: alerts matching `match` go to `channels`, grouped as Alertmanager does.
 *
 * @example
 * ```ts
 * const r: RouteOptions = { match: { severity: 'critical' }, channels: ['pagerduty'], groupBy: ['alertname'],
 *   groupWait: '10s', groupInterval: '5m', repeatInterval: '4h', continue: true };
 * ```
 */
export interface RouteOptions {
  /** Matchers (default: every alert). */
  match?: Matchers;
  /** Channel names (default: every grouped channel). */
  channels?: string[];
  /** Labels that form a group (default `['alertname']`; `['...']` groups by every label). */
  groupBy?: string[];
  /** Wait before the first notification of a new group (default `30s`). */
  groupWait?: Duration;
  /** Wait before notifying about changes in a group (default `5m`). */
  groupInterval?: Duration;
  /** Wait before repeating an unchanged firing notification (default `4h`). */
  repeatInterval?: Duration;
  /** Notify when alerts resolve (default `true`). */
  sendResolved?: boolean;
  /** Keep matching the next routes after this one matched (default `false`). */
  continue?: boolean;
}

/**
 * Inhibition: while an alert matching `source` fires, alerts matching `target` with equal values
 * of the `equal` labels are not notified.
 *
 * @example
 * ```ts
 * const rule: InhibitRule = { source: { severity: 'critical' }, target: { severity: 'warning' }, equal: ['alertname'] };
 * ```
 */
export interface InhibitRule {
  source: Matchers;
  target: Matchers;
  equal?: string[];
}

/**
 * Options of `createAlerts`.
 *
 * @example
 * ```ts
 * const options: AlertsOptions = {
 *   rules: [errorRateRule({ for: '5m' }), latencyRule({ for: '10m' })],
 *   channels: [slackChannel(process.env.SLACK_URL!)],
 *   evaluateEveryMs: 15_000,
 * };
 * ```
 */
export interface AlertsOptions {
  rules?: AlertRule[];
  /** Channels, as a list (named by `channel.name`) or an object keyed by name. */
  channels?: Channel[] | Record<string, Channel>;
  /** Routes, tried in order; the first match wins unless it has `continue`. Unmatched alerts use the root route. */
  routes?: RouteOptions[];
  /** Root route settings (grouping and timers for alerts no route matched, defaults for routes). */
  root?: Omit<RouteOptions, 'match' | 'continue'>;
  /** Evaluation period, ms (default 15 000). */
  evaluateEveryMs?: number;
  /** Clock in epoch ms (default `Date.now`), for tests. */
  now?: () => number;
  /** Start the evaluation timer at once (default `true`; the timer never keeps the process alive). */
  autoStart?: boolean;
  /** Short windows to read (default core `trafficWindows()`). */
  traffic?: TrafficWindows;
  /** Long windows for burn rates (default: created when needed, fed from core `onExchangeEnd`). */
  sloWindows?: SloWindows;
  /** Inhibition rules (default: a firing `critical` inhibits `warning` alerts with the same `alertname`). */
  inhibitRules?: InhibitRule[];
  /** How long a resolved alert is kept (and re-sent to raw channels), default `15m`. */
  resolvedRetention?: Duration;
  /** Base URL put in `externalURL` and `generatorURL`. */
  externalUrl?: string;
  /** Labels added to every alert (e.g. `{ service: 'orders', instance: hostname }`). */
  externalLabels?: Labels;
  /** Announce the package in the core registry as `alerts` (default `true`). */
  register?: boolean;
  /** `for` of the imperative checks (default 0). */
  checksFor?: Duration;
}

/**
 * One alert's state as `createAlerts().alerts()` reports it.
 *
 * @example
 * ```ts
 * const s: AlertState = { name: 'HighErrorRate', state: 'firing', labels: { alertname: 'HighErrorRate', severity: 'warning' },
 *   annotations: {}, value: 0.1, severity: 'warning', fingerprint: '4c3f0a9e1d2b7c65', activeAtEpochMs: 0, firedAtEpochMs: 0,
 *   resolvedAtEpochMs: 0, suppressed: false };
 * ```
 */
export interface AlertState {
  name: string;
  state: 'pending' | 'firing' | 'resolved';
  labels: Labels;
  annotations: Record<string, string>;
  value: number | undefined;
  severity: string;
  fingerprint: string;
  activeAtEpochMs: number;
  firedAtEpochMs: number;
  resolvedAtEpochMs: number;
  /** Silenced or inhibited now. */
  suppressed: boolean;
}

/**
 * A silence as `silences()` lists it.
 *
 * @example
 * ```ts
 * const s: SilenceInfo = { id: 'silence-1', matchers: { alertname: 'HighLatency' }, startsAtEpochMs: 0, endsAtEpochMs: 3_600_000, comment: 'deploy' };
 * ```
 */
export interface SilenceInfo {
  id: string;
  matchers: Matchers;
  startsAtEpochMs: number;
  endsAtEpochMs: number;
  comment: string;
}

/**
 * What `createAlerts` returns.
 *
 * @example
 * ```ts
 * const alerts: Alerts = createAlerts({ rules: [errorRateRule()], channels: [logChannel()] });
 * alerts.checkErrorRate(1000, 60, 5);
 * alerts.silence({ alertname: 'HighLatency' }, Date.now() + 3_600_000);
 * await alerts.close();
 * ```
 */
export interface Alerts {
  /** Evaluates every rule now and flushes the groups that are due. */
  evaluate(): void;
  /** Flushes the groups that are due (timers call it; useful with an injected clock). */
  tick(): void;
  /** The guide's check: alerts `ThresholdExceeded{metric=name}` while `value` is past `threshold`. */
  checkThreshold(name: string, value: number, threshold: number, comparison?: 'greater' | 'less', labels?: Labels): boolean;
  /** The guide's check: alerts `HighErrorRate{source="check"}` while failed/total (%) > thresholdPercent (default 5). */
  checkErrorRate(total: number, failed: number, thresholdPercent?: number, labels?: Labels): boolean;
  /** The guide's check: alerts `HighLatency{source="check"}` while the p95 of `responseTimesMs` > thresholdMs (default 1000). */
  checkLatency(responseTimesMs: readonly number[], thresholdMs?: number, labels?: Labels): boolean;
  /** Silences alerts matching `matchers` until `until` (Date, epoch ms, or a duration from now). Returns the silence id. */
  silence(matchers: Matchers, until: Date | number | string, comment?: string): string;
  /** Ends a silence. */
  unsilence(id: string): boolean;
  /** Silences in force or scheduled. */
  silences(): SilenceInfo[];
  /** Every pending, firing and recently resolved alert. */
  alerts(): AlertState[];
  /** The core `AlertsSnapshot` (what the dashboard reads through the registry). */
  snapshot(): AlertsSnapshot;
  /** Delivery counters per channel. */
  deliveryStats(): Record<string, ChannelStats>;
  /** Starts the evaluation timer (does nothing when running). */
  start(): void;
  /** Stops the timers. */
  stop(): void;
  /** Resolves when every channel's outbox is empty (or `timeoutMs` passed, default 30 s). */
  flush(timeoutMs?: number): Promise<void>;
  /** Stops, waits for outboxes (up to `timeoutMs`), closes channels and leaves the registry. */
  close(timeoutMs?: number): Promise<void>;
}
