import type { DeliveryOptions } from '../types';

/**
 * Options every built-in channel takes.
 *
 * @example
 * ```ts
 * const o: ChannelOptions = { name: 'ops-slack', delivery: { timeoutMs: 5000 } };
 * ```
 */
export interface ChannelOptions {
  /** Name used by routes (default: the channel kind, e.g. `slack`). */
  name?: string;
  /** Delivery settings (timeouts, retries, outbox size). */
  delivery?: DeliveryOptions;
}

export function channelName(options: ChannelOptions | undefined, kind: string): string {
  const name = options?.name ?? kind;
  if (typeof name !== 'string' || name === '') throw new TypeError(`vigil alerts: ${kind}Channel name must be a non-empty string`);
  return name;
}

/** Text of one alert: its summary, else its name and labels. */
export function alertTitle(a: { labels: Record<string, string>; annotations: Record<string, string> }): string {
  return a.annotations.summary ?? a.labels.alertname ?? 'alert';
}

/** `[FIRING:2] HighErrorRate (service="orders")`, as Alertmanager titles notifications. */
export function notificationTitle(n: { status: string; alerts: Array<{ status: string }>; groupLabels: Record<string, string> }): string {
  const count = n.alerts.filter((a) => a.status === n.status).length;
  const labels = Object.entries(n.groupLabels).map(([k, v]) => (k === 'alertname' ? v : `${k}=${v}`)).join(' ');
  return `[${n.status.toUpperCase()}:${count}] ${labels || 'alerts'}`;
}

/**
 * `text` cut to at most `max` UTF-16 units, ending in `…` when cut; never between the two halves
 * of a surrogate pair (an emoji stays whole or goes).
 *
 * @example
 * ```ts
 * truncate('a😀b', 3); // 'a…', not half the emoji
 * ```
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
