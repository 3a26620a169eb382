import { channelName, notificationTitle, type ChannelOptions } from './common';
import type { Channel } from '../types';

/**
 * A logger `logChannel` writes to: pino-style (`logger.warn(obj, msg)`) or console-style
 * (`console.warn(msg, obj)`).
 *
 * @example
 * ```ts
 * const target: AlertLogger = pino();
 * ```
 */
export interface AlertLogger {
  info(...args: unknown[]): unknown;
  warn(...args: unknown[]): unknown;
  error?(...args: unknown[]): unknown;
}

/**
 * Options of `logChannel`.
 *
 * @example
 * ```ts
 * const o: LogChannelOptions = { style: 'pino' };
 * ```
 */
export interface LogChannelOptions extends ChannelOptions {
  /** How to call the logger (default: `console` style for `console`, `pino` style otherwise). */
  style?: 'pino' | 'console';
}

/**
 * Writes each notification as one log line: `error` for firing critical alerts, `warn` for other
 * firing ones, `info` for resolves.
 *
 * @example
 * ```ts
 * createAlerts({ rules, channels: [logChannel(pino())] });
 * createAlerts({ rules, channels: [logChannel()] }); // console
 * ```
 */
export function logChannel(logger: AlertLogger = console, options: LogChannelOptions = {}): Channel {
  if (logger === null || typeof logger !== 'object' || typeof logger.warn !== 'function' || typeof logger.info !== 'function') {
    throw new TypeError('vigil alerts: logChannel needs a logger with info() and warn()');
  }
  const style = options.style ?? (logger === (console as unknown) ? 'console' : 'pino');
  return {
    name: channelName(options, 'log'),
    kind: 'log',
    delivery: options.delivery,
    async send(n) {
      const critical = n.status === 'firing' && n.alerts.some((a) => a.status === 'firing' && a.severity === 'critical');
      const level = n.status === 'resolved' ? 'info' : critical && typeof logger.error === 'function' ? 'error' : 'warn';
      const fields = {
        alerts: n.alerts.map((a) => ({ status: a.status, labels: a.labels, annotations: a.annotations, value: a.value, startsAt: a.startsAt, endsAt: a.endsAt, fingerprint: a.fingerprint })),
        groupLabels: n.groupLabels,
      };
      const message = `alert ${notificationTitle(n)}`;
      const fn = (logger[level] as (...args: unknown[]) => unknown).bind(logger);
      if (style === 'console') fn(message, JSON.stringify(fields));
      else fn(fields, message);
    },
  };
}
