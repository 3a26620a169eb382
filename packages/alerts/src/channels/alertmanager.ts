import { postJson, checkUrl } from './http';
import { channelName, type ChannelOptions } from './common';
import type { Channel } from '../types';

/**
 * Options of `alertmanagerChannel`.
 *
 * @example
 * ```ts
 * const o: AlertmanagerChannelOptions = { resendMs: 60_000, headers: { authorization: 'Basic ...' } };
 * ```
 */
export interface AlertmanagerChannelOptions extends ChannelOptions {
  /** Re-send firing alerts this often, ms (default 60 000, Prometheus' `resend_delay`). */
  resendMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/**
 * Pushes alerts to a real Alertmanager (`POST /api/v2/alerts`), as Prometheus does: every firing
 * alert is re-sent while it fires (`endsAt` a few re-send periods ahead, so Alertmanager resolves
 * it on its own if this process dies), and a resolve is sent with `endsAt` = when it resolved.
 * Alertmanager then groups, deduplicates across replicas, silences and routes; so this channel
 * bypasses vigil's own routing.
 *
 * @example
 * ```ts
 * createAlerts({ rules, channels: [alertmanagerChannel('http://alertmanager:9093')] });
 * ```
 */
export function alertmanagerChannel(url: string, options: AlertmanagerChannelOptions = {}): Channel {
  const base = checkUrl(url, 'alertmanagerChannel url').replace(/\/+$/, '');
  const endpoint = base.endsWith('/api/v2/alerts') ? base : `${base}/api/v2/alerts`;
  const resendMs = options.resendMs ?? 60_000;
  if (!(typeof resendMs === 'number' && resendMs > 0)) throw new TypeError('vigil alerts: alertmanagerChannel resendMs must be positive');
  const headers = { ...(options.headers ?? {}) };
  return {
    name: channelName(options, 'alertmanager'),
    kind: 'alertmanager',
    mode: 'raw',
    resendMs,
    delivery: options.delivery,
    async send(n, signal) {
      const body = n.alerts.map((a) => ({ labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, endsAt: a.endsAt, generatorURL: a.generatorURL || undefined }));
      await postJson(endpoint, body, signal, 'alertmanager', headers);
    },
  };
}
