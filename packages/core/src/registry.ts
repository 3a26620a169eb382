import { BoundedRing } from './bounded-ring';
import type { HealthTransition, LogEvent, PackageInfo, TraceSummary } from './types';

const packages = new Map<string, PackageInfo>();

/**
 * Announces a package to the others (the dashboard shows a section only when its package is
 * here; alerts read health state through it). Registering the same name again replaces it.
 *
 * @example
 * ```ts
 * registerPackage({ name: 'health', version: '0.1.0', snapshot: () => health.snapshot() });
 * ```
 */
export function registerPackage(info: PackageInfo): void {
  if (info === null || typeof info !== 'object' || typeof info.name !== 'string' || info.name === '') {
    throw new TypeError('vigil: registerPackage needs { name }');
  }
  packages.set(info.name, info);
}

/**
 * The package registered under `name`, if any.
 *
 * @example
 * ```ts
 * const health = registeredPackage('health')?.snapshot?.() as HealthSnapshot | undefined;
 * ```
 */
export function registeredPackage(name: string): PackageInfo | undefined {
  return packages.get(name);
}

/**
 * Every registered package, in registration order.
 *
 * @example
 * ```ts
 * registeredPackages().map((p) => p.name); // ['metrics', 'health']
 * ```
 */
export function registeredPackages(): PackageInfo[] {
  return [...packages.values()];
}

/** Removes a package (for tests and shutdown). */
export function unregisterPackage(name: string): void {
  packages.delete(name);
}

/**
 * Small bounded rings of recent events that packages write and the dashboard reads: finished
 * traces, warning and error log lines, health transitions.
 *
 * @example
 * ```ts
 * recentEvents.logs.push({ timeEpochMs: Date.now(), level: 'warn', message: 'slow query' });
 * recentEvents.logs.toArray();
 * ```
 */
export const recentEvents = {
  traces: new BoundedRing<TraceSummary>(200),
  logs: new BoundedRing<LogEvent>(200),
  health: new BoundedRing<HealthTransition>(100),
};
