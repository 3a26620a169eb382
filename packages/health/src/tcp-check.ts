import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { cleanOutput } from './run-check';
import type { CheckDefinition, CheckResult } from './types';

/**
 * Options of `tcpCheck`.
 *
 * @example
 * ```ts
 * tcpCheck('redis.internal', 6379, { warnAboveMs: 50 });
 * ```
 */
export interface TcpCheckOptions {
  /** Report `warn` when connecting took longer than this (ms). */
  warnAboveMs?: number;
}

/**
 * A check that opens a TCP connection to `host:port` and closes it at once. Reports the connect
 * time in ms (IETF key `name:responseTime`).
 *
 * @example
 * ```ts
 * health.register('redis', tcpCheck('redis.internal', 6379), { intervalMs: 5000 });
 * ```
 */
export function tcpCheck(host: string, port: number, options: TcpCheckOptions = {}): CheckDefinition {
  if (typeof host !== 'string' || host === '') throw new TypeError('@vigil/health: tcpCheck needs a host');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`@vigil/health: tcpCheck port must be 1-65535, got ${String(port)}`);
  const warnAboveMs = options.warnAboveMs;
  if (warnAboveMs !== undefined && !(typeof warnAboveMs === 'number' && warnAboveMs > 0)) throw new TypeError('@vigil/health: tcpCheck warnAboveMs must be a positive number');
  return {
    measurement: 'responseTime',
    componentType: 'component',
    run(signal: AbortSignal): Promise<CheckResult> {
      const started = performance.now();
      return new Promise<CheckResult>((resolve) => {
        let socket: Socket | undefined = undefined;
        const onAbort = (): void => {
          socket?.destroy();
          resolve({ status: 'fail', output: cleanOutput(signal.reason ?? 'aborted') });
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        socket = connect({ host, port });
        socket.once('connect', () => {
          signal.removeEventListener('abort', onAbort);
          const elapsed = Math.round((performance.now() - started) * 100) / 100;
          socket?.destroy();
          if (warnAboveMs !== undefined && elapsed > warnAboveMs) {
            resolve({ status: 'warn', observedValue: elapsed, observedUnit: 'ms', output: `slow connect: ${elapsed} ms > ${warnAboveMs} ms` });
          } else resolve({ status: 'pass', observedValue: elapsed, observedUnit: 'ms' });
        });
        socket.once('error', (error) => {
          signal.removeEventListener('abort', onAbort);
          socket?.destroy();
          resolve({ status: 'fail', output: cleanOutput(error) });
        });
      });
    },
  };
}
