import { postJson, checkUrl } from './http';
import { channelName, type ChannelOptions } from './common';
import type { Channel, Notification } from '../types';

/**
 * Options of `webhookChannel`.
 *
 * @example
 * ```ts
 * const o: WebhookChannelOptions = { headers: { authorization: `Bearer ${process.env.HOOK_TOKEN}` } };
 * ```
 */
export interface WebhookChannelOptions extends ChannelOptions {
  /** Extra request headers (e.g. authorization). */
  headers?: Record<string, string>;
}

/**
 * The Alertmanager webhook payload (version 4) of a notification.
 *
 * @example
 * ```ts
 * alertmanagerWebhookPayload(n); // { version: '4', groupKey, status, receiver, groupLabels, ..., alerts: [...] }
 * ```
 */
export function alertmanagerWebhookPayload(n: Notification): Record<string, unknown> {
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.truncatedAlerts,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalURL,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    })),
  };
}

/**
 * Generic webhook channel posting the Alertmanager webhook JSON (version 4), so any receiver
 * written for Alertmanager works unchanged.
 *
 * @example
 * ```ts
 * createAlerts({ rules, channels: [webhookChannel('https://hooks.example.com/alerts')] });
 * ```
 */
export function webhookChannel(url: string, options: WebhookChannelOptions = {}): Channel {
  const target = checkUrl(url, 'webhookChannel url');
  const headers = { ...(options.headers ?? {}) };
  return {
    name: channelName(options, 'webhook'),
    kind: 'webhook',
    delivery: options.delivery,
    async send(n, signal) {
      await postJson(target, alertmanagerWebhookPayload(n), signal, 'webhook', headers);
    },
  };
}
