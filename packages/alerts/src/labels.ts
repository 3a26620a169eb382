import { createHash } from 'node:crypto';
import type { Labels, Matchers } from './types';

/**
 * Fingerprint of a label set: 16 hex digits, independent of key order.
 *
 * @example
 * ```ts
 * fingerprint({ alertname: 'A', severity: 'critical' }) === fingerprint({ severity: 'critical', alertname: 'A' }); // true
 * ```
 */
export function fingerprint(labels: Labels): string {
  // JSON of the sorted pairs: unambiguous whatever characters names and values hold.
  const pairs = Object.keys(labels).sort().map((key) => [key, labels[key]]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex').slice(0, 16);
}

/** A matcher set compiled once: strings compare equal, RegExps are anchored. */
export type CompiledMatchers = Array<[string, (value: string) => boolean]>;

/**
 * Compiles matchers once (RegExps anchored to the whole value, as Prometheus does).
 *
 * @example
 * ```ts
 * const m = compileMatchers({ severity: /warn.*|info/ }, 'route.match');
 * matches(m, { severity: 'warning' }); // true
 * ```
 */
export function compileMatchers(matchers: Matchers | undefined, what: string): CompiledMatchers {
  if (matchers === undefined) return [];
  if (matchers === null || typeof matchers !== 'object') throw new TypeError(`vigil alerts: ${what} must be an object of label matchers`);
  return Object.entries(matchers).map(([name, expected]) => {
    if (typeof expected === 'string') return [name, (v: string) => v === expected];
    if (expected instanceof RegExp) {
      const anchored = new RegExp(`^(?:${expected.source})$`, expected.flags.replace(/[gy]/g, ''));
      return [name, (v: string) => anchored.test(v)];
    }
    throw new TypeError(`vigil alerts: ${what}.${name} must be a string or a RegExp`);
  });
}

/**
 * `true` when every matcher matches (an absent label has the value `''`).
 *
 * @example
 * ```ts
 * matches(compileMatchers({ alertname: 'A' }, 'm'), { alertname: 'A' }); // true
 * ```
 */
export function matches(compiled: CompiledMatchers, labels: Labels): boolean {
  for (const [name, test] of compiled) if (!test(labels[name] ?? '')) return false;
  return true;
}

/**
 * Checks a label set given as an option: an object of string values with valid label names.
 *
 * @example
 * ```ts
 * checkLabels({ team: 'payments' }, 'labels'); // returns a copy
 * ```
 */
export function checkLabels(labels: Labels | undefined, what: string): Labels {
  if (labels === undefined) return {};
  if (labels === null || typeof labels !== 'object') throw new TypeError(`vigil alerts: ${what} must be an object of strings`);
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new TypeError(`vigil alerts: ${what} has an invalid label name ${JSON.stringify(k)}`);
    if (typeof v !== 'string') throw new TypeError(`vigil alerts: ${what}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}
