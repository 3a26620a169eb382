import { toMs } from './duration';
import { compileMatchers, matches, type CompiledMatchers } from './labels';
import type { AlertRecord } from './alert-record';
import type { InhibitRule, Labels, Matchers, Notification, NotifiedAlert, RouteOptions } from './types';

/** Alertmanager's "zero time", sent as `endsAt` of firing alerts in webhook payloads. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A route with its settings normalised once. */
export interface CompiledRoute {
  id: number;
  match: CompiledMatchers;
  channels: string[];
  groupBy: string[] | 'all';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  sendResolved: boolean;
  continue: boolean;
}

interface CompiledInhibit {
  source: CompiledMatchers;
  target: CompiledMatchers;
  equal: string[];
}

/** What a channel was last told about a group (Alertmanager's notification log entry). */
interface LogEntry {
  firing: Set<string>;
  resolved: Set<string>;
  at: number;
}

interface Group {
  key: string;
  route: CompiledRoute;
  labels: Labels;
  alerts: Map<string, AlertRecord>;
  nextFlushAt: number;
  log: Map<string, LogEntry>;
}

/** A silence: alerts matching it are not notified until `endsAt`. */
export interface Silence {
  id: string;
  matchers: Matchers;
  compiled: CompiledMatchers;
  startsAt: number;
  endsAt: number;
  comment: string;
}

/**
 * Normalises route options once (precise `TypeError`s).
 *
 * @example
 * ```ts
 * compileRoute({ match: { severity: 'critical' }, channels: ['pagerduty'] }, 0, rootDefaults, ['pagerduty', 'slack']);
 * ```
 */
export function compileRoute(r: RouteOptions, id: number, defaults: Omit<CompiledRoute, 'id' | 'match' | 'continue'>, known: string[], what: string): CompiledRoute {
  if (r === null || typeof r !== 'object') throw new TypeError(`vigil alerts: ${what} must be an object`);
  const channels = r.channels ?? defaults.channels;
  if (!Array.isArray(channels)) throw new TypeError(`vigil alerts: ${what}.channels must be an array of channel names`);
  for (const c of channels) if (!known.includes(c)) throw new TypeError(`vigil alerts: ${what}.channels names unknown channel ${JSON.stringify(c)} (have ${known.join(', ') || 'none'})`);
  let groupBy: string[] | 'all' = defaults.groupBy;
  if (r.groupBy !== undefined) {
    if (!Array.isArray(r.groupBy) || r.groupBy.some((l) => typeof l !== 'string')) throw new TypeError(`vigil alerts: ${what}.groupBy must be an array of label names`);
    groupBy = r.groupBy.includes('...') ? 'all' : [...r.groupBy];
  }
  const groupIntervalMs = toMs(r.groupInterval, `${what}.groupInterval`, defaults.groupIntervalMs);
  const repeatIntervalMs = toMs(r.repeatInterval, `${what}.repeatInterval`, defaults.repeatIntervalMs);
  if (groupIntervalMs <= 0) throw new TypeError(`vigil alerts: ${what}.groupInterval must be positive`);
  return {
    id,
    match: compileMatchers(r.match, `${what}.match`),
    channels: [...channels],
    groupBy,
    groupWaitMs: toMs(r.groupWait, `${what}.groupWait`, defaults.groupWaitMs),
    groupIntervalMs,
    repeatIntervalMs,
    sendResolved: r.sendResolved ?? defaults.sendResolved,
    continue: r.continue === true,
  };
}

/**
 * Normalises inhibition rules once.
 *
 * @example
 * ```ts
 * compileInhibitRules([{ source: { severity: 'critical' }, target: { severity: 'warning' }, equal: ['alertname'] }]);
 * ```
 */
export function compileInhibitRules(rules: InhibitRule[]): CompiledInhibit[] {
  if (!Array.isArray(rules)) throw new TypeError('vigil alerts: inhibitRules must be an array');
  return rules.map((r, i) => {
    if (r === null || typeof r !== 'object') throw new TypeError(`vigil alerts: inhibitRules[${i}] must be an object`);
    return {
      source: compileMatchers(r.source, `inhibitRules[${i}].source`),
      target: compileMatchers(r.target, `inhibitRules[${i}].target`),
      equal: r.equal ?? [],
    };
  });
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(maps[0])) if (maps.every((m) => m[k] === v)) out[k] = v;
  return out;
}

function labelString(labels: Labels): string {
  return `{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/**
 * Turns an alert into its notified form (Alertmanager webhook alert fields).
 *
 * @example
 * ```ts
 * toNotified(record, 'http://orders:3000/alerts', undefined);
 * ```
 */
export function toNotified(a: AlertRecord, generatorURL: string, validUntil: number | undefined): NotifiedAlert {
  const resolved = a.state === 'resolved';
  return {
    status: resolved ? 'resolved' : 'firing',
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    startsAt: isoTime(a.firedAt || a.activeAt),
    endsAt: resolved ? isoTime(a.resolvedAt) : validUntil === undefined ? ZERO_TIME : isoTime(validUntil),
    generatorURL,
    fingerprint: a.fingerprint,
    value: a.value,
    severity: a.severity,
  };
}

/**
 * Alertmanager's routing, in process: alerts go down the routes (first match, or every match
 * while `continue` is set; none matched means the root route), are grouped by the route's
 * `groupBy` labels, and each group is flushed after `groupWait`, then every `groupInterval`;
 * a flush notifies a channel when firing alerts are new, alerts resolved (with `sendResolved`),
 * or `repeatInterval` passed. Silenced and inhibited alerts are left out.
 *
 * @example
 * ```ts
 * const d = new Dispatcher(root, routes, inhibit, '', (channel, n) => outboxes.get(channel)?.enqueue(n));
 * d.update(records, now);
 * d.flushDue(now);
 * ```
 */
export class Dispatcher {
  private readonly groups = new Map<string, Group>();
  private readonly silences = new Map<string, Silence>();
  private silenceSeq = 0;

  constructor(
    private readonly root: CompiledRoute,
    private readonly routes: CompiledRoute[],
    private readonly inhibitRules: CompiledInhibit[],
    private readonly externalUrl: string,
    private readonly send: (channel: string, n: Notification) => void,
  ) {}

  private routesFor(labels: Labels): CompiledRoute[] {
    const out: CompiledRoute[] = [];
    for (const r of this.routes) {
      if (!matches(r.match, labels)) continue;
      out.push(r);
      if (!r.continue) break;
    }
    return out.length === 0 ? [this.root] : out;
  }

  /** Feeds the current alerts (firing and recently resolved ones) into their groups. */
  update(records: Iterable<AlertRecord>, now: number): void {
    for (const a of records) {
      if (a.state === 'pending') continue;
      for (const route of this.routesFor(a.labels)) {
        const groupLabels: Labels = {};
        if (route.groupBy === 'all') Object.assign(groupLabels, a.labels);
        else for (const l of route.groupBy) if (a.labels[l] !== undefined) groupLabels[l] = a.labels[l];
        const key = `${route.id}:${labelString(groupLabels)}`;
        let group = this.groups.get(key);
        if (group === undefined) {
          if (a.state !== 'firing') continue; // a resolve for a group that no longer exists: nothing to tell
          group = { key, route, labels: groupLabels, alerts: new Map(), nextFlushAt: now + route.groupWaitMs, log: new Map() };
          this.groups.set(key, group);
        } else if (a.state === 'resolved' && !group.alerts.has(a.fingerprint)) {
          continue;
        }
        group.alerts.set(a.fingerprint, a);
      }
    }
  }

  /** Epoch ms of the next group flush, or `undefined` when there are no groups. */
  nextFlushAt(): number | undefined {
    let next: number | undefined;
    for (const g of this.groups.values()) if (next === undefined || g.nextFlushAt < next) next = g.nextFlushAt;
    return next;
  }

  /** Flushes every group whose timer is due. `firing` are all firing alerts (inhibition sources). */
  flushDue(now: number, firing: AlertRecord[]): void {
    for (const group of [...this.groups.values()]) {
      if (now < group.nextFlushAt) continue;
      this.flush(group, now, firing);
      group.nextFlushAt = now + group.route.groupIntervalMs;
    }
    this.expireSilences(now);
  }

  private flush(group: Group, now: number, firingAll: AlertRecord[]): void {
    const firing: AlertRecord[] = [];
    const resolved: AlertRecord[] = [];
    for (const a of group.alerts.values()) {
      if (a.state === 'resolved') resolved.push(a);
      else if (a.state === 'firing' && !this.isMuted(a, now, firingAll)) firing.push(a);
    }
    const firingSet = new Set(firing.map((a) => a.fingerprint));
    for (const channel of group.route.channels) {
      const entry = group.log.get(channel);
      const known = entry === undefined ? [] : resolved.filter((a) => entry.firing.has(a.fingerprint));
      if (!this.needsUpdate(entry, firingSet, known, group.route, now)) continue;
      const resolvedSet = new Set(known.map((a) => a.fingerprint));
      group.log.set(channel, { firing: firingSet, resolved: resolvedSet, at: now });
      const alerts = group.route.sendResolved ? [...firing, ...known] : firing;
      if (alerts.length === 0) continue;
      this.send(channel, this.notification(group, channel, alerts));
    }
    for (const a of resolved) group.alerts.delete(a.fingerprint);
    if (group.alerts.size === 0) this.groups.delete(group.key);
  }

  /** Alertmanager's dedup stage (`needsUpdate`). */
  private needsUpdate(entry: LogEntry | undefined, firing: Set<string>, resolvedKnown: AlertRecord[], route: CompiledRoute, now: number): boolean {
    if (entry === undefined) return firing.size > 0;
    for (const fp of firing) if (!entry.firing.has(fp)) return true;
    if (firing.size === 0) return entry.firing.size > 0;
    if (route.sendResolved && resolvedKnown.some((a) => !entry.resolved.has(a.fingerprint))) return true;
    return now - entry.at >= route.repeatIntervalMs;
  }

  private notification(group: Group, channel: string, alerts: AlertRecord[]): Notification {
    const notified = alerts.map((a) => toNotified(a, this.externalUrl, undefined));
    return {
      receiver: channel,
      status: notified.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      alerts: notified,
      groupLabels: { ...group.labels },
      commonLabels: common(notified.map((a) => a.labels)),
      commonAnnotations: common(notified.map((a) => a.annotations)),
      groupKey: `${group.route.id === -1 ? '{}' : `{}/{route="${group.route.id}"}`}:${labelString(group.labels)}`,
      externalURL: this.externalUrl,
      truncatedAlerts: 0,
    };
  }

  /** Silenced or inhibited now. */
  isMuted(a: AlertRecord, now: number, firingAll: AlertRecord[]): boolean {
    return this.isSilenced(a.labels, now) || this.isInhibited(a, firingAll);
  }

  private isSilenced(labels: Labels, now: number): boolean {
    for (const s of this.silences.values()) if (s.startsAt <= now && now < s.endsAt && matches(s.compiled, labels)) return true;
    return false;
  }

  private isInhibited(a: AlertRecord, firingAll: AlertRecord[]): boolean {
    for (const rule of this.inhibitRules) {
      if (!matches(rule.target, a.labels)) continue;
      for (const source of firingAll) {
        if (source === a || source.state !== 'firing' || !matches(rule.source, source.labels)) continue;
        if (rule.equal.every((l) => (source.labels[l] ?? '') === (a.labels[l] ?? ''))) return true;
      }
    }
    return false;
  }

  /** Adds a silence; returns its id. */
  addSilence(matchers: Matchers, startsAt: number, endsAt: number, comment: string): string {
    const compiled = compileMatchers(matchers, 'silence matchers');
    if (compiled.length === 0) throw new TypeError('vigil alerts: a silence needs at least one matcher');
    const id = `silence-${++this.silenceSeq}`;
    this.silences.set(id, { id, matchers, compiled, startsAt, endsAt, comment });
    return id;
  }

  /** Ends a silence; returns whether it existed. */
  removeSilence(id: string): boolean {
    return this.silences.delete(id);
  }

  /** Active and future silences. */
  listSilences(): Silence[] {
    return [...this.silences.values()];
  }

  private expireSilences(now: number): void {
    for (const [id, s] of this.silences) if (s.endsAt <= now) this.silences.delete(id);
  }
}
