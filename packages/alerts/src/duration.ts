import type { Duration } from './types';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Parses a duration (ms number, or a Prometheus duration string such as `1h30m`, `5m`, `500ms`)
 * into milliseconds. Throws a `TypeError` naming `what` for anything else (factories call it once).
 *
 * @example
 * ```ts
 * toMs('1h30m', 'for'); // 5_400_000
 * toMs(250, 'timeout'); // 250
 * ```
 */
export function toMs(value: Duration | undefined, what: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new TypeError(`vigil alerts: ${what} is required`);
    return fallback;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`vigil alerts: ${what} must be a non-negative number of ms, got ${value}`);
    return value;
  }
  const m = typeof value === 'string' && value !== '' ? DURATION_RE.exec(value) : null;
  if (m === null) throw new TypeError(`vigil alerts: ${what} must be ms or a duration like '30s', '5m', '1h30m', got ${JSON.stringify(value)}`);
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let ms = 0;
  for (let i = 0; i < units.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * UNIT_MS[units[i]];
  return ms;
}

/**
 * Formats milliseconds as a Prometheus duration string (`300000` → `5m`, `5400000` → `1h30m`).
 *
 * @example
 * ```ts
 * promDuration(259_200_000); // '3d'
 * ```
 */
export function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit];
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
