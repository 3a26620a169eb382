import { quantiles, registerPackage, registeredPackage, reportError, safeRun, trafficWindows, unregisterPackage, type AlertsSnapshot, type HealthSnapshot, type PackageInfo } from '@vigil/core';
import { renderAnnotations, step, type AlertRecord } from './alert-record';
import { Outbox } from './delivery';
import { compileInhibitRules, compileRoute, Dispatcher, toNotified, type CompiledRoute } from './dispatcher';
import { toMs } from './duration';
import { checkLabels, fingerprint } from './labels';
import { SloWindows } from './slo-windows';
import type { AlertRule, Alerts, AlertsOptions, AlertState, Channel, ChannelStats, InhibitRule, Labels, Matchers, Notification, RuleContext, SilenceInfo } from './types';

const VERSION = '0.1.0';

/** Alertmanager's default: a firing critical alert mutes warnings of the same alert name. */
const DEFAULT_INHIBIT: InhibitRule[] = [{ source: { severity: 'critical' }, target: { severity: 'warning' }, equal: ['alertname'] }];

function normalizeChannels(channels: AlertsOptions['channels']): Map<string, Channel> {
  const out = new Map<string, Channel>();
  if (channels === undefined) return out;
  const entries: Array<[string, Channel]> = Array.isArray(channels)
    ? channels.map((c) => [c?.name, c] as [string, Channel]).map(([n, c], i) => [n ?? `channels[${i}]`, c])
    : channels !== null && typeof channels === 'object' ? Object.entries(channels) : (() => { throw new TypeError('vigil alerts: channels must be an array or an object of channels'); })();
  for (const [name, channel] of entries) {
    if (channel === null || typeof channel !== 'object' || typeof channel.send !== 'function') throw new TypeError(`vigil alerts: channel ${JSON.stringify(name)} must have a send(notification, signal) function`);
    if (typeof name !== 'string' || name === '') throw new TypeError('vigil alerts: every channel needs a name');
    if (out.has(name)) throw new TypeError(`vigil alerts: two channels are named ${JSON.stringify(name)}; give one a { name }`);
    out.set(name, Array.isArray(channels) ? channel : { ...channel, name, send: channel.send.bind(channel), close: channel.close?.bind(channel) });
  }
  return out;
}

/** Whether `rule` reads the long `SloWindows` with these windows. */
function usesSloWindows(rule: AlertRule, ctx: RuleContext): boolean {
  return typeof rule.usesSloWindows === 'function' ? rule.usesSloWindows(ctx) === true : rule.usesSloWindows === true;
}

/**
 * Creates the alert engine: evaluates `rules` every `evaluateEveryMs` with Prometheus semantics
 * (inactive → pending → firing → resolved, `for`, `keepFiringFor`, templated annotations), routes
 * firing and resolved alerts as Alertmanager does (groups, `groupWait`, `groupInterval`,
 * `repeatInterval`, silences, inhibition) and delivers them through one delivery layer
 * (per-channel bounded outbox, timeout, retries with backoff and jitter). It also takes the
 * guide's imperative checks. Its state is published in the core registry as `alerts`.
 *
 * @example
 * ```ts
 * const alerts = createAlerts({
 *   rules: [errorRateRule({ for: '5m' }), latencyRule({ for: '10m' }), burnRateRule({ objective: 0.999 }), healthRule()],
 *   channels: [slackChannel(process.env.SLACK_URL!), pagerDutyChannel(process.env.PD_KEY!)],
 *   routes: [{ match: { severity: 'critical' }, channels: ['pagerduty', 'slack'] }, { channels: ['slack'] }],
 * });
 * ```
 */
export function createAlerts(options: AlertsOptions = {}): Alerts {
  if (options === null || typeof options !== 'object') throw new TypeError('vigil alerts: createAlerts options must be an object');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('vigil alerts: now must be a function returning epoch ms');
  const evaluateEveryMs = options.evaluateEveryMs ?? 15_000;
  if (!(typeof evaluateEveryMs === 'number' && evaluateEveryMs > 0 && Number.isFinite(evaluateEveryMs))) throw new TypeError(`vigil alerts: evaluateEveryMs must be a positive number, got ${evaluateEveryMs}`);
  const rules = options.rules ?? [];
  if (!Array.isArray(rules)) throw new TypeError('vigil alerts: rules must be an array of rules');
  rules.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || typeof r.evaluate !== 'function' || typeof r.name !== 'string') throw new TypeError(`vigil alerts: rules[${i}] is not a rule (make rules with thresholdRule, errorRateRule, ...)`);
  });
  const externalLabels = checkLabels(options.externalLabels, 'externalLabels');
  const externalUrl = options.externalUrl ?? '';
  if (typeof externalUrl !== 'string') throw new TypeError('vigil alerts: externalUrl must be a string');
  const retentionMs = toMs(options.resolvedRetention, 'resolvedRetention', 15 * 60_000);
  const checksForMs = toMs(options.checksFor, 'checksFor', 0);

  const channels = normalizeChannels(options.channels);
  const grouped = [...channels.values()].filter((c) => c.mode !== 'raw').map((c) => c.name);
  const raw = [...channels.values()].filter((c) => c.mode === 'raw');
  const rootDefaults: Omit<CompiledRoute, 'id' | 'match' | 'continue'> = {
    channels: grouped, groupBy: ['alertname'], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000, sendResolved: true,
  };
  const root = compileRoute({ ...(options.root ?? {}), match: undefined, continue: false }, -1, rootDefaults, grouped, 'root');
  const { id: _rootId, match: _rootMatch, continue: _rootContinue, ...routeDefaults } = root;
  const routesIn = options.routes ?? [];
  if (!Array.isArray(routesIn)) throw new TypeError('vigil alerts: routes must be an array');
  routesIn.forEach((r, i) => {
    const rawNamed = (r?.channels ?? []).find((c) => raw.some((ch) => ch.name === c));
    if (rawNamed !== undefined) throw new TypeError(`vigil alerts: routes[${i}].channels names ${JSON.stringify(rawNamed)}, which receives every alert itself (Alertmanager routes them); leave it out of routes`);
  });
  const routes = routesIn.map((r, i) => compileRoute(r, i, routeDefaults, grouped, `routes[${i}]`));
  const inhibit = compileInhibitRules(options.inhibitRules ?? DEFAULT_INHIBIT);

  const traffic = options.traffic ?? trafficWindows();
  const slo = options.sloWindows ?? new SloWindows({ now });
  const health = (): HealthSnapshot | undefined => {
    const info = registeredPackage('health');
    return info?.snapshot === undefined ? undefined : (safeRun('alerts.health', () => info.snapshot?.() as HealthSnapshot | undefined, undefined) ?? undefined);
  };
  const validation: RuleContext = { now: now(), traffic, slo, health };
  for (const rule of rules) rule.validate?.(validation);
  const detachSlo = options.sloWindows === undefined && rules.some((r) => usesSloWindows(r, validation)) ? slo.attach() : undefined;

  const outboxes = new Map<string, Outbox>();
  for (const channel of channels.values()) outboxes.set(channel.name, new Outbox(channel));
  const enqueue = (name: string, n: Notification): void => outboxes.get(name)?.enqueue(n);
  const dispatcher = new Dispatcher(root, routes, inhibit, externalUrl, enqueue);

  const ruleAlerts = new Map<AlertRule, Map<string, AlertRecord>>(rules.map((r) => [r, new Map()]));
  const lastValues = new Map<AlertRule, number | undefined>();
  const checkAlerts = new Map<string, AlertRecord>();
  const rawSent = new Map<string, Map<string, { at: number; record: AlertRecord; state: string }>>(raw.map((c) => [c.name, new Map()]));

  function newRecord(name: string, labels: Labels, fp: string, t: number): AlertRecord {
    return { name, labels, fingerprint: fp, severity: labels.severity ?? '', annotations: {}, value: undefined, state: 'pending', activeAt: t, firedAt: 0, resolvedAt: 0, keepFiringSince: 0 };
  }

  function evaluateRule(rule: AlertRule, ctx: RuleContext): void {
    let samples: ReturnType<AlertRule['evaluate']>;
    try {
      samples = rule.evaluate(ctx);
      if (!Array.isArray(samples)) throw new TypeError(`rule ${rule.name} returned ${typeof samples}, not an array`);
    } catch (error) {
      reportError(`alerts.rule.${rule.name}`, error); // like Prometheus: an evaluation error leaves the alerts as they were
      return;
    }
    const map = ruleAlerts.get(rule) as Map<string, AlertRecord>;
    const t = ctx.now;
    const seen = new Set<string>();
    lastValues.set(rule, samples[0]?.value);
    for (const sample of samples) {
      if (!sample.active) continue;
      const labels: Labels = { ...externalLabels, severity: rule.severity, ...rule.labels, ...(sample.labels ?? {}), alertname: rule.name };
      const fp = fingerprint(labels);
      if (seen.has(fp)) continue;
      seen.add(fp);
      let a = map.get(fp);
      if (a === undefined || a.state === 'resolved') {
        a = newRecord(rule.name, labels, fp, t);
        map.set(fp, a);
      }
      a.value = sample.value;
      step(a, true, t, rule.forMs, rule.keepFiringForMs);
      a.annotations = renderAnnotations(rule.annotations, labels, sample.value);
    }
    for (const [fp, a] of map) {
      if (seen.has(fp)) continue;
      if (a.state === 'resolved') {
        if (t - a.resolvedAt >= retentionMs) map.delete(fp);
        continue;
      }
      if (!step(a, false, t, rule.forMs, rule.keepFiringForMs)) map.delete(fp);
    }
  }

  function* records(): Generator<AlertRecord> {
    for (const map of ruleAlerts.values()) yield* map.values();
    yield* checkAlerts.values();
  }

  function firingRecords(): AlertRecord[] {
    const out: AlertRecord[] = [];
    for (const a of records()) if (a.state === 'firing') out.push(a);
    return out;
  }

  function sendRaw(t: number): void {
    if (raw.length === 0) return;
    const all = [...records()].filter((a) => a.state !== 'pending');
    for (const channel of raw) {
      const sent = rawSent.get(channel.name) as Map<string, { at: number; record: AlertRecord; state: string }>;
      const resendMs = channel.resendMs ?? 60_000;
      const validFor = 4 * Math.max(resendMs, evaluateEveryMs);
      const batch = [];
      const live = new Set<string>();
      for (const a of all) {
        live.add(a.fingerprint);
        const prev = sent.get(a.fingerprint);
        if (prev !== undefined && prev.record === a && prev.state === a.state && t - prev.at < resendMs) continue;
        if (a.state === 'resolved' && prev === undefined) continue; // it never fired here: nothing to end
        batch.push(toNotified(a, externalUrl, a.state === 'firing' ? t + validFor : undefined));
        sent.set(a.fingerprint, { at: t, record: a, state: a.state });
      }
      for (const fp of sent.keys()) if (!live.has(fp)) sent.delete(fp);
      if (batch.length === 0) continue;
      enqueue(channel.name, {
        receiver: channel.name, status: batch.some((a) => a.status === 'firing') ? 'firing' : 'resolved', alerts: batch,
        groupLabels: {}, commonLabels: {}, commonAnnotations: {}, groupKey: '{}:{}', externalURL: externalUrl, truncatedAlerts: 0,
      });
    }
  }

  let evalTimer: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;

  function scheduleFlush(): void {
    if (evalTimer === undefined) return;
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
    const next = dispatcher.nextFlushAt();
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - now()), 2_147_483_647);
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      api.tick();
    }, delay + 1);
    flushTimer.unref();
  }

  function afterChange(t: number): void {
    dispatcher.update(records(), t);
    dispatcher.flushDue(t, firingRecords());
    sendRaw(t);
    scheduleFlush();
  }

  function applyCheck(name: string, extra: Labels, severity: string, active: boolean, value: number, annotations: Record<string, string>): boolean {
    const t = now();
    const labels: Labels = { ...externalLabels, severity, ...extra, source: 'check', alertname: name };
    const fp = fingerprint(labels);
    let a = checkAlerts.get(fp);
    if (active) {
      if (a === undefined || a.state === 'resolved') {
        a = newRecord(name, labels, fp, t);
        checkAlerts.set(fp, a);
      }
      a.value = value;
      step(a, true, t, checksForMs, 0);
      a.annotations = renderAnnotations(annotations, labels, value);
    } else if (a !== undefined && a.state !== 'resolved') {
      a.value = value;
      if (!step(a, false, t, checksForMs, 0)) checkAlerts.delete(fp);
    }
    afterChange(t);
    return active;
  }

  function badCall(kind: string, message: string): false {
    reportError(`alerts.${kind}`, new TypeError(`vigil alerts: ${kind}: ${message}`));
    return false;
  }

  function extraLabels(kind: string, labels: Labels | undefined): Labels | undefined {
    try {
      return checkLabels(labels, `${kind} labels`);
    } catch (error) {
      reportError(`alerts.${kind}`, error);
      return undefined;
    }
  }

  const api: Alerts = {
    evaluate() {
      const t = now();
      const ctx: RuleContext = { now: t, traffic, slo, health };
      for (const rule of rules) evaluateRule(rule, ctx);
      for (const [fp, a] of checkAlerts) if (a.state === 'resolved' && t - a.resolvedAt >= retentionMs) checkAlerts.delete(fp);
      afterChange(t);
    },

    tick() {
      const t = now();
      dispatcher.flushDue(t, firingRecords());
      scheduleFlush();
    },

    checkThreshold(name, value, threshold, comparison = 'greater', labels) {
      if (typeof name !== 'string' || name === '') return badCall('checkThreshold', 'name must be a non-empty string');
      if (typeof value !== 'number' || Number.isNaN(value) || typeof threshold !== 'number' || Number.isNaN(threshold)) return badCall('checkThreshold', 'value and threshold must be numbers');
      if (comparison !== 'greater' && comparison !== 'less') return badCall('checkThreshold', "comparison must be 'greater' or 'less'");
      const extra = extraLabels('checkThreshold', labels);
      if (extra === undefined) return false;
      const active = comparison === 'greater' ? value > threshold : value < threshold;
      return applyCheck('ThresholdExceeded', { ...extra, metric: name }, 'critical', active, value, {
        summary: `${name} threshold exceeded`,
        description: `${name} is {{ $value }} (threshold: ${threshold})`,
      });
    },

    checkErrorRate(total, failed, thresholdPercent = 5, labels) {
      if (!(Number.isFinite(total) && Number.isFinite(failed) && total >= 0 && failed >= 0 && failed <= total)) return badCall('checkErrorRate', 'total and failed must be counts with failed <= total');
      if (!(Number.isFinite(thresholdPercent) && thresholdPercent >= 0)) return badCall('checkErrorRate', 'thresholdPercent must be a non-negative number');
      if (total === 0) return false; // no traffic, no verdict (the alert keeps its state)
      const extra = extraLabels('checkErrorRate', labels);
      if (extra === undefined) return false;
      const percent = (failed * 100) / total;
      return applyCheck('HighErrorRate', extra, 'warning', percent > thresholdPercent, percent, {
        summary: 'High error rate detected',
        description: `Error rate: ${percent.toFixed(2)}% (threshold: ${thresholdPercent}%)`,
      });
    },

    checkLatency(responseTimesMs, thresholdMs = 1000, labels) {
      if (!Array.isArray(responseTimesMs)) return badCall('checkLatency', 'responseTimesMs must be an array of milliseconds');
      if (!(Number.isFinite(thresholdMs) && thresholdMs >= 0)) return badCall('checkLatency', 'thresholdMs must be a non-negative number');
      const values = responseTimesMs.filter((v) => typeof v === 'number' && Number.isFinite(v));
      if (values.length === 0) return false;
      const extra = extraLabels('checkLatency', labels);
      if (extra === undefined) return false;
      const p95 = quantiles(values, [0.95])[0];
      return applyCheck('HighLatency', extra, 'warning', p95 > thresholdMs, p95, {
        summary: 'High latency detected',
        description: `P95 latency: ${p95.toFixed(2)}ms (threshold: ${thresholdMs}ms)`,
      });
    },

    silence(matchers: Matchers, until: Date | number | string, comment = '') {
      const t = now();
      const endsAt = until instanceof Date ? until.getTime() : typeof until === 'number' ? until : t + toMs(until, 'silence until');
      if (!(Number.isFinite(endsAt) && endsAt > t)) throw new TypeError('vigil alerts: silence until must be in the future (Date, epoch ms or a duration such as "2h")');
      return dispatcher.addSilence(matchers, t, endsAt, String(comment));
    },

    unsilence(id) {
      return dispatcher.removeSilence(id);
    },

    silences(): SilenceInfo[] {
      return dispatcher.listSilences().map((s) => ({ id: s.id, matchers: { ...s.matchers }, startsAtEpochMs: s.startsAt, endsAtEpochMs: s.endsAt, comment: s.comment }));
    },

    alerts(): AlertState[] {
      const t = now();
      const firing = firingRecords();
      return [...records()].map((a) => ({
        name: a.name, state: a.state, labels: { ...a.labels }, annotations: { ...a.annotations }, value: a.value, severity: a.severity,
        fingerprint: a.fingerprint, activeAtEpochMs: a.activeAt, firedAtEpochMs: a.firedAt, resolvedAtEpochMs: a.resolvedAt,
        suppressed: a.state === 'firing' && dispatcher.isMuted(a, t, firing),
      }));
    },

    snapshot(): AlertsSnapshot {
      const out: AlertsSnapshot['alerts'] = [];
      const push = (a: AlertRecord): void => {
        out.push({ name: a.name, state: a.state as 'pending' | 'firing', severity: a.severity, labels: { ...a.labels }, annotations: { ...a.annotations }, value: a.value, activeSinceEpochMs: a.activeAt });
      };
      for (const rule of rules) {
        let any = false;
        for (const a of (ruleAlerts.get(rule) as Map<string, AlertRecord>).values()) {
          if (a.state === 'resolved') continue;
          any = true;
          push(a);
        }
        if (!any) {
          const labels: Labels = { ...externalLabels, severity: rule.severity, ...rule.labels, alertname: rule.name };
          const value = lastValues.get(rule);
          out.push({ name: rule.name, state: 'inactive', severity: rule.severity, labels, annotations: renderAnnotations(rule.annotations, labels, value), value, activeSinceEpochMs: 0 });
        }
      }
      for (const a of checkAlerts.values()) if (a.state !== 'resolved') push(a);
      return { alerts: out };
    },

    deliveryStats(): Record<string, ChannelStats> {
      const out: Record<string, ChannelStats> = {};
      for (const [name, box] of outboxes) out[name] = { ...box.stats };
      return out;
    },

    start() {
      if (evalTimer !== undefined) return;
      evalTimer = setInterval(() => safeRun('alerts.evaluate', () => api.evaluate(), undefined), evaluateEveryMs);
      evalTimer.unref();
      scheduleFlush();
    },

    stop() {
      if (evalTimer !== undefined) clearInterval(evalTimer);
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      evalTimer = undefined;
      flushTimer = undefined;
    },

    async flush(timeoutMs = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
      await Promise.race([Promise.all([...outboxes.values()].map((o) => o.idle(true))), timeout]);
      clearTimeout(timer);
    },

    async close(timeoutMs = 10_000) {
      api.stop();
      await api.flush(timeoutMs);
      for (const box of outboxes.values()) box.close();
      for (const channel of channels.values()) {
        if (channel.close !== undefined) await Promise.resolve(safeRun(`alerts.channel.${channel.name}.close`, () => channel.close?.(), undefined)).catch(() => undefined);
      }
      detachSlo?.();
      if (registeredPackage('alerts') === registration) unregisterPackage('alerts');
    },
  };

  const registration: PackageInfo = { name: 'alerts', version: VERSION, snapshot: () => api.snapshot() };
  if (options.register !== false) registerPackage(registration);
  if (options.autoStart !== false) api.start();
  return api;
}
