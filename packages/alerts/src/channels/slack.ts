import { postJson, checkUrl } from './http';
import { alertTitle, channelName, notificationTitle, truncate, type ChannelOptions } from './common';
import type { Channel, Notification, NotifiedAlert } from '../types';

/**
 * Options of `slackChannel`.
 *
 * @example
 * ```ts
 * const o: SlackChannelOptions = { name: 'ops', minIntervalMs: 1000, maxAlerts: 10 };
 * ```
 */
export interface SlackChannelOptions extends ChannelOptions {
  /** Least time between two messages to the same webhook, ms (default 1000: Slack's 1 per second). */
  minIntervalMs?: number;
  /** Alerts listed per message; the rest are counted (default 20). */
  maxAlerts?: number;
}

/** Attachment colour bar by severity (resolved is green). */
const COLOURS: Record<string, string> = {
  critical: '#E01E5A', page: '#E01E5A', error: '#E01E5A', high: '#E01E5A',
  warning: '#ECB22E', warn: '#ECB22E', ticket: '#ECB22E', medium: '#ECB22E',
  info: '#36C5F0', low: '#36C5F0', none: '#36C5F0',
};
const RESOLVED_COLOUR = '#2EB67D';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function worstSeverity(alerts: NotifiedAlert[]): string {
  const order = ['critical', 'page', 'error', 'high', 'warning', 'warn', 'ticket', 'medium', 'info', 'low', 'none'];
  let best = alerts[0]?.severity ?? 'info';
  for (const a of alerts) if (a.status === 'firing' && order.indexOf(a.severity) !== -1 && (order.indexOf(best) === -1 || order.indexOf(a.severity) < order.indexOf(best))) best = a.severity;
  return best;
}

/**
 * The Slack message of a notification: a fallback `text`, and one attachment whose colour bar
 * shows the severity, holding Block Kit blocks (header, one section per alert, context).
 *
 * @example
 * ```ts
 * const body = slackMessage(notification); // { text, attachments: [{ color, blocks }] }
 * ```
 */
export function slackMessage(n: Notification, maxAlerts = 20): { text: string; attachments: Array<{ color: string; fallback: string; blocks: unknown[] }> } {
  const title = notificationTitle(n);
  const colour = n.status === 'resolved' ? RESOLVED_COLOUR : COLOURS[worstSeverity(n.alerts)] ?? COLOURS.warning;
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: true } }];
  for (const a of n.alerts.slice(0, maxAlerts)) {
    const icon = a.status === 'resolved' ? ':white_check_mark:' : a.severity === 'critical' ? ':rotating_light:' : ':warning:';
    const lines = [`${icon} *${escape(alertTitle(a))}* (${escape(a.severity)}, ${a.status})`];
    if (a.annotations.description !== undefined) lines.push(escape(a.annotations.description));
    const labels = Object.entries(a.labels).filter(([k]) => k !== 'alertname' && k !== 'severity').map(([k, v]) => `\`${escape(k)}=${escape(v)}\``).join(' ');
    if (labels !== '') lines.push(labels);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(lines.join('\n'), 3000) } });
  }
  const more = n.alerts.length - maxAlerts;
  const context = `${more > 0 ? `…and ${more} more. ` : ''}Since ${n.alerts[0]?.startsAt ?? ''}${n.externalURL ? ` · <${n.externalURL}|source>` : ''}`;
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(context, 3000) }] });
  return { text: title, attachments: [{ color: colour, fallback: title, blocks }] };
}

/**
 * Slack incoming webhook channel: Block Kit message coloured by severity, at most one message a
 * second per webhook (shared by every channel posting there), `Retry-After` honoured on 429.
 *
 * @example
 * ```ts
 * createAlerts({ rules, channels: [slackChannel(process.env.SLACK_WEBHOOK_URL!)] });
 * ```
 */
export function slackChannel(webhookUrl: string, options: SlackChannelOptions = {}): Channel {
  const url = checkUrl(webhookUrl, 'slackChannel webhookUrl');
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const maxAlerts = options.maxAlerts ?? 20;
  if (!(minIntervalMs >= 0)) throw new TypeError('vigil alerts: slackChannel minIntervalMs must be >= 0');
  if (!(Number.isInteger(maxAlerts) && maxAlerts >= 1 && maxAlerts <= 45)) throw new TypeError('vigil alerts: slackChannel maxAlerts must be an integer in [1, 45] (Slack allows 50 blocks)');
  return {
    name: channelName(options, 'slack'),
    kind: 'slack',
    delivery: options.delivery,
    rateLimit: { key: `slack:${url}`, minIntervalMs },
    async send(n, signal) {
      await postJson(url, slackMessage(n, maxAlerts), signal, 'slack');
    },
  };
}
