import type { Channel, Notification } from '../../src/types';

/** A channel that keeps what it receives, for engine tests. */
export function memoryChannel(name = 'memory'): { channel: Channel; got: Notification[] } {
  const got: Notification[] = [];
  return { got, channel: { name, kind: 'memory', async send(n) { got.push(n); } } };
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 10, 25, 12, 0, 0)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; }, set: (ms) => { t = ms; } };
}

/** Names and statuses of the alerts of notifications: ['firing:HighQueue', ...]. */
export function summary(ns: Notification[]): string[][] {
  return ns.map((n) => n.alerts.map((a) => `${a.status}:${a.labels.alertname}${a.labels.route ? `:${a.labels.route}` : ''}`));
}
