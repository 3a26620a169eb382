import { expandTemplate } from './template';
import type { Labels } from './types';

/** One alert instance (a rule result with its labels) and where it is in its life. Internal. */
export interface AlertRecord {
  name: string;
  labels: Labels;
  fingerprint: string;
  severity: string;
  annotations: Record<string, string>;
  value: number | undefined;
  state: 'pending' | 'firing' | 'resolved';
  activeAt: number;
  firedAt: number;
  resolvedAt: number;
  /** When the condition stopped holding while firing (for `keepFiringFor`), 0 while it holds. */
  keepFiringSince: number;
}

/** Re-renders annotation templates with the alert's labels and current value. */
export function renderAnnotations(templates: Readonly<Record<string, string>>, labels: Labels, value: number | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, t] of Object.entries(templates)) out[k] = expandTemplate(t, labels, value);
  return out;
}

/**
 * Applies one evaluation result to one alert, as Prometheus does: a new active alert is
 * `pending`; it fires once active for `forMs` (at once when `forMs` is 0); an alert no longer
 * active is dropped when pending, and resolved when firing (after `keepFiringForMs`).
 * Returns `false` when the record should be deleted.
 */
export function step(a: AlertRecord, active: boolean, now: number, forMs: number, keepFiringForMs: number): boolean {
  if (active) {
    a.keepFiringSince = 0;
    if (a.state === 'resolved') {
      a.state = 'pending';
      a.activeAt = now;
      a.firedAt = 0;
      a.resolvedAt = 0;
    }
    if (a.state === 'pending' && now - a.activeAt >= forMs) {
      a.state = 'firing';
      a.firedAt = now;
    }
    return true;
  }
  if (a.state === 'pending') return false;
  if (a.state === 'firing') {
    if (keepFiringForMs > 0) {
      if (a.keepFiringSince === 0) a.keepFiringSince = now;
      if (now - a.keepFiringSince < keepFiringForMs) return true;
    }
    a.state = 'resolved';
    a.resolvedAt = now;
  }
  return true;
}
