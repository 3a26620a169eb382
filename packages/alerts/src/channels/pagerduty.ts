import { hostname } from 'node:os';
import { postJson, checkUrl } from './http';
import { alertTitle, channelName, truncate, type ChannelOptions } from './common';
import type { Channel, NotifiedAlert } from '../types';

/**
 * Options of `pagerDutyChannel`.
 *
 * @example
 * ```ts
 * const o: PagerDutyChannelOptions = { source: 'orders-1', client: 'orders', clientUrl: 'https://grafana/orders' };
 * ```
 */
export interface PagerDutyChannelOptions extends ChannelOptions {
  /** Events API endpoint (default `https://events.pagerduty.com/v2/enqueue`). */
  url?: string;
  /** `payload.source` when the alert has no `instance` / `service` label (default the host name). */
  source?: string;
  /** `client` shown in PagerDuty (default `vigil`). */
  client?: string;
  clientUrl?: string;
}

/**
 * Maps an alert severity to a PagerDuty one (critical, error, warning, info).
 *
 * @example
 * ```ts
 * pagerDutySeverity('page');    // 'critical'
 * pagerDutySeverity('ticket');  // 'warning'
 * ```
 */
export function pagerDutySeverity(severity: string): 'critical' | 'error' | 'warning' | 'info' {
  switch (severity.toLowerCase()) {
    case 'critical': case 'page': case 'fatal': case 'emergency': case 'high': return 'critical';
    case 'error': case 'major': return 'error';
    case 'warning': case 'warn': case 'ticket': case 'minor': case 'medium': return 'warning';
    case 'info': case 'informational': case 'low': case 'none': return 'info';
    default: return 'error';
  }
}

/**
 * The Events API v2 event of one alert: `trigger` while firing, `resolve` when resolved, both with
 * `dedup_key` = the alert's fingerprint.
 *
 * @example
 * ```ts
 * pagerDutyEvent(alert, 'R0UT1NGKEY00000000000000000000000', { source: 'orders-1', client: 'vigil' });
 * ```
 */
export function pagerDutyEvent(a: NotifiedAlert, routingKey: string, o: { source: string; client: string; clientUrl?: string }): Record<string, unknown> {
  if (a.status === 'resolved') return { routing_key: routingKey, event_action: 'resolve', dedup_key: a.fingerprint };
  const summary = [alertTitle(a), a.annotations.description].filter(Boolean).join(': ');
  const event: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: a.fingerprint,
    payload: {
      summary: truncate(summary, 1024),
      source: a.labels.instance ?? a.labels.service ?? o.source,
      severity: pagerDutySeverity(a.severity),
      timestamp: a.startsAt,
      component: a.labels.service ?? a.labels.job,
      group: a.labels.route,
      class: a.labels.alertname,
      custom_details: { labels: a.labels, annotations: a.annotations, value: a.value },
    },
    client: o.client,
  };
  if (o.clientUrl !== undefined) event.client_url = o.clientUrl;
  return event;
}

/**
 * PagerDuty Events API v2 channel: one event per alert (trigger, then resolve), deduplicated by
 * PagerDuty on the alert's fingerprint, so repeats and retries never open a second incident.
 *
 * @example
 * ```ts
 * createAlerts({ rules, channels: [pagerDutyChannel(process.env.PD_ROUTING_KEY!)],
 *   routes: [{ match: { severity: 'critical' }, channels: ['pagerduty'] }] });
 * ```
 */
export function pagerDutyChannel(routingKey: string, options: PagerDutyChannelOptions = {}): Channel {
  if (typeof routingKey !== 'string' || routingKey.trim() === '') throw new TypeError('vigil alerts: pagerDutyChannel needs a routing (integration) key');
  const url = checkUrl(options.url ?? 'https://events.pagerduty.com/v2/enqueue', 'pagerDutyChannel url');
  const o = { source: options.source ?? hostname(), client: options.client ?? 'vigil', clientUrl: options.clientUrl };
  return {
    name: channelName(options, 'pagerduty'),
    kind: 'pagerduty',
    delivery: options.delivery,
    async send(n, signal) {
      // One event per alert; a retry re-sends all of them, which PagerDuty deduplicates by dedup_key.
      for (const a of n.alerts) await postJson(url, pagerDutyEvent(a, routingKey, o), signal, 'pagerduty');
    },
  };
}
