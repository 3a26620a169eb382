import { registerPackage } from '@vigil/core';
import type { LogTransport, TransportStats } from './types';

/** The package version announced in the core registry. */
export const VERSION = '0.1.0';

/** What the logging package shows the dashboard through `registeredPackage('logging').snapshot()`. */
export interface LoggingSnapshot {
  services: string[];
  accessLines: number;
  ignoredRequests: number;
  transports: TransportStats[];
}

const services = new Set<string>();
const transports = new Set<LogTransport>();
const counters = { accessLines: 0, ignoredRequests: 0 };

function snapshot(): LoggingSnapshot {
  return {
    services: [...services],
    accessLines: counters.accessLines,
    ignoredRequests: counters.ignoredRequests,
    transports: [...transports].map((t) => ({ ...t.stats })),
  };
}

/** Announces the package in the core registry on first use (not on import); again is harmless. */
export function ensureRegistered(): void {
  registerPackage({ name: 'logging', version: VERSION, snapshot });
}

/** Notes a logger's service and transports for the snapshot. */
export function noteLogger(service: string, list: LogTransport[]): void {
  ensureRegistered();
  services.add(service);
  for (const t of list) transports.add(t);
}

/** Notes a transport (until it is closed). */
export function noteTransport(t: LogTransport, open: boolean): void {
  ensureRegistered();
  if (open) transports.add(t);
  else transports.delete(t);
}

/** Per-process counters the access log bumps. */
export const accessCounters = counters;
