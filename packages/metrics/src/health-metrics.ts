import { registeredPackage, reportError, type HealthCheckSnapshot, type HealthSnapshot } from '@vigil/core';
import { Gauge, type Registry } from 'prom-client';

const STATUS_VALUE: Record<string, number> = { pass: 1, warn: 0.5, fail: 0 };

/** The health package's snapshot, when one is registered in the core and answers sanely. */
function healthChecks(): HealthCheckSnapshot[] {
  const info = registeredPackage('health');
  if (info === undefined || typeof info.snapshot !== 'function') return [];
  try {
    const snap = info.snapshot() as HealthSnapshot | undefined;
    return snap !== undefined && snap !== null && Array.isArray(snap.checks) ? snap.checks : [];
  } catch (error) {
    reportError('metrics.health', error);
    return [];
  }
}

/**
 * Gauges of the health package's checks, read from the core registry at scrape time (the
 * metrics package never imports the health package):
 * `health_check_status{check}` (1 pass, 0.5 warn, 0 fail), `health_check_duration_seconds{check}`
 * and `health_check_last_success_timestamp_seconds{check}`.
 */
export function registerHealthMetrics(registry: Registry, prefix: string): string[] {
  const checks = healthChecks;
  new Gauge({
    name: `${prefix}health_check_status`,
    help: 'Last result of each health check: 1 pass, 0.5 warn, 0 fail.',
    labelNames: ['check'] as const,
    registers: [registry],
    aggregator: 'min',
    collect() {
      this.reset();
      for (const c of checks()) this.set({ check: c.name }, STATUS_VALUE[c.status] ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}health_check_duration_seconds`,
    help: 'Duration of the last run of each health check, seconds.',
    labelNames: ['check'] as const,
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.reset();
      for (const c of checks()) if (Number.isFinite(c.durationMs)) this.set({ check: c.name }, c.durationMs / 1000);
    },
  });
  new Gauge({
    name: `${prefix}health_check_last_success_timestamp_seconds`,
    help: 'When each health check last passed, Unix seconds (0 if never).',
    labelNames: ['check'] as const,
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.reset();
      for (const c of checks()) this.set({ check: c.name }, Number.isFinite(c.lastSuccessEpochMs) ? c.lastSuccessEpochMs / 1000 : 0);
    },
  });
  return [`${prefix}health_check_status`, `${prefix}health_check_duration_seconds`, `${prefix}health_check_last_success_timestamp_seconds`];
}
