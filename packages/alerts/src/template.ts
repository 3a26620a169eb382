import type { Labels } from './types';

const EXPR_RE = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/** Go's %.4g, as Prometheus' humanize functions use it. */
function g4(n: number): string {
  if (!Number.isFinite(n)) return String(n).replace('Infinity', 'Inf');
  return String(Number(n.toPrecision(4)));
}

function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  const abs = Math.abs(v);
  if (abs >= 1) {
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < prefixes.length - 1) { v /= 1000; i++; }
    return g4(v) + prefixes[i];
  }
  const prefixes = ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let i = 0;
  while (Math.abs(v) < 1 && i < prefixes.length - 1) { v *= 1000; i++; }
  return g4(v) + prefixes[i];
}

/** Prometheus' humanizeDuration: `250ms`, `2.425s`, `1m 30s`, `1h 0m 5s`, `2d 0h 0m 0s`. */
function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return g4(seconds);
  if (seconds === 0) return '0s';
  if (Math.abs(seconds) < 1) {
    if (Math.abs(seconds) >= 1e-3) return `${g4(seconds * 1e3)}ms`;
    if (Math.abs(seconds) >= 1e-6) return `${g4(seconds * 1e6)}us`;
    return `${g4(seconds * 1e9)}ns`;
  }
  const sign = seconds < 0 ? '-' : '';
  const v = Math.abs(seconds);
  const whole = Math.trunc(v);
  const s = whole % 60;
  const m = Math.trunc(whole / 60) % 60;
  const h = Math.trunc(whole / 3600) % 24;
  const d = Math.trunc(whole / 86400);
  if (d !== 0) return `${sign}${d}d ${h}h ${m}m ${s}s`;
  if (h !== 0) return `${sign}${h}h ${m}m ${s}s`;
  if (m !== 0) return `${sign}${m}m ${s}s`;
  return `${sign}${g4(v)}s`;
}

const FUNCTIONS: Record<string, (v: number) => string> = {
  humanize,
  humanizePercentage: (v) => `${g4(v * 100)}%`,
  humanizeDuration,
};

/** A float as Go's `fmt` prints it (what `{{ $value }}` gives in Prometheus): `0.1`, `123456`, `1e+06`, `1e-05`. */
function formatValue(v: number | undefined): string {
  if (v === undefined) return '';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const [mantissa, exponent] = v.toExponential().split('e');
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) {
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(v);
}

/**
 * Expands the Prometheus alert template subset used in annotations: `{{ $value }}`,
 * `{{ $labels.name }}`, `{{ $labels.alertname }}`, and the pipes `humanize`,
 * `humanizePercentage`, `humanizeDuration` (`{{ $value | humanizePercentage }}`). Anything else is
 * left as written, so a template never throws.
 *
 * @example
 * ```ts
 * expandTemplate('{{ $labels.route }} at {{ $value | humanizePercentage }}', { route: '/pay' }, 0.1234);
 * // '/pay at 12.34%'
 * ```
 */
export function expandTemplate(template: string, labels: Labels, value: number | undefined): string {
  if (!template.includes('{{')) return template;
  return template.replace(EXPR_RE, (whole, expr: string) => {
    const parts = expr.split('|').map((p) => p.trim());
    const head = parts[0];
    let out: string | number | undefined;
    if (head === '$value' || head === '.Value') out = value;
    else if (head.startsWith('$labels.') || head.startsWith('.Labels.')) out = labels[head.slice(head.indexOf('.', 1) + 1)] ?? '';
    else return whole;
    for (const fn of parts.slice(1)) {
      const f = FUNCTIONS[fn];
      if (f === undefined || typeof out !== 'number') return whole;
      out = f(out);
    }
    return typeof out === 'number' || out === undefined ? formatValue(out) : out;
  });
}
