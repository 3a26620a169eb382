import { recentEvents, registeredPackage, registeredPackages, reportError } from '@vigil/core';
import type { AlertsSnapshot, HealthSnapshot, LogEvent, TraceSummary } from '@vigil/core';

const MAX_TEXT = 400;
const MAX_SPANS = 60;

/**
 * Masks credentials that slipped into free text (log messages, health output, annotations):
 * `Bearer …`/`Basic …` values and `password=…`, `token: …`, `api_key=…`, `authorization: …`,
 * `cookie=…` style pairs. The dashboard never shows header values; this is a last line of defence.
 */
const SCHEME_VALUE = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi;
const SECRET_PAIR = /\b([\w-]*(?:password|passwd|secret|token|api[_-]?key|apikey|authorization|cookie|session)[\w-]*)(["']?\s*[:=]\s*["']?)([^\s"',;&]+)/gi;

/** Free text made safe to show: credentials masked, length capped. */
export function safeText(value: unknown): string {
  let text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  if (text.length > MAX_TEXT) text = `${text.slice(0, MAX_TEXT)}…`;
  return text.replace(SCHEME_VALUE, '$1 [redacted]').replace(SECRET_PAIR, '$1$2[redacted]');
}

function safeRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object') return out;
  let n = 0;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (n++ >= 20) break;
    out[safeText(k)] = safeText(v);
  }
  return out;
}

function readSnapshot(name: string): unknown {
  const info = registeredPackage(name);
  if (info === undefined || typeof info.snapshot !== 'function') return undefined;
  try {
    return info.snapshot();
  } catch (error) {
    reportError(`dashboard.${name}Snapshot`, error);
    return undefined;
  }
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Health checks as the page shows them (known fields only), or `undefined` without the health package. */
export function healthSection(): unknown {
  if (registeredPackage('health') === undefined) return undefined;
  const snap = readSnapshot('health') as HealthSnapshot | undefined;
  const checks = Array.isArray(snap?.checks) ? snap.checks : [];
  return {
    status: snap?.status ?? 'pass',
    checks: checks.slice(0, 100).map((c) => ({
      name: safeText(c.name),
      status: c.status,
      critical: c.critical === true,
      groups: Array.isArray(c.groups) ? c.groups.map(safeText) : [],
      durationMs: num(c.durationMs),
      lastRunEpochMs: num(c.lastRunEpochMs),
      lastSuccessEpochMs: num(c.lastSuccessEpochMs),
      observed: c.observedValue === undefined ? '' : `${safeText(c.observedValue)}${c.observedUnit ? ` ${safeText(c.observedUnit)}` : ''}`,
      output: safeText(c.output),
    })),
    transitions: recentEvents.health.toArray().slice(-20).reverse().map((h) => ({
      timeEpochMs: h.timeEpochMs, check: safeText(h.check), from: safeText(h.from), to: safeText(h.to),
    })),
  };
}

const STATE_ORDER: Record<string, number> = { firing: 0, pending: 1, inactive: 2 };

/** Alerts, firing first then pending, then the inactive ones (known fields only). */
export function alertsSection(): unknown {
  if (registeredPackage('alerts') === undefined) return undefined;
  const snap = readSnapshot('alerts') as AlertsSnapshot | undefined;
  const alerts = Array.isArray(snap?.alerts) ? snap.alerts : [];
  return {
    alerts: alerts
      .slice(0, 200)
      .map((a) => ({
        name: safeText(a.name),
        state: a.state,
        severity: safeText(a.severity),
        labels: safeRecord(a.labels),
        annotations: safeRecord(a.annotations),
        value: typeof a.value === 'number' && Number.isFinite(a.value) ? a.value : null,
        activeSinceEpochMs: num(a.activeSinceEpochMs),
      }))
      .sort((a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3)),
  };
}

/** Recent traces, failed first then slowest, with their spans (capped). */
export function tracesSection(max: number): unknown {
  if (registeredPackage('tracing') === undefined) return undefined;
  const all: TraceSummary[] = recentEvents.traces.toArray();
  const slowestFirst = (a: TraceSummary, b: TraceSummary): number => b.durationMs - a.durationMs;
  // failed ones first, slowest first, but at most half the list, so slow successes show too
  const failed = all.filter((t) => t.error === true).sort(slowestFirst);
  const ok = all.filter((t) => t.error !== true).sort(slowestFirst);
  const failedShown = failed.slice(0, Math.max(Math.ceil(max / 2), max - ok.length));
  const picked = failedShown.concat(ok.slice(0, max - failedShown.length));
  return {
    total: all.length,
    failed: failed.length,
    traces: picked.map((t) => ({
      traceId: safeText(t.traceId),
      name: safeText(t.name),
      route: safeText(t.route),
      status: num(t.status),
      error: t.error === true,
      durationMs: num(t.durationMs),
      startEpochMs: num(t.startEpochMs),
      spans: (Array.isArray(t.spans) ? t.spans : []).slice(0, MAX_SPANS).map((s) => ({
        spanId: safeText(s.spanId),
        parentSpanId: s.parentSpanId === undefined ? null : safeText(s.parentSpanId),
        name: safeText(s.name),
        offsetMs: num(s.offsetMs),
        durationMs: num(s.durationMs),
        error: s.error === true,
      })),
    })),
  };
}

/** Recent warning and error log lines, newest first. */
export function logsSection(max: number): unknown {
  if (registeredPackage('logging') === undefined) return undefined;
  const logs: LogEvent[] = recentEvents.logs.toArray();
  const out = [];
  for (let i = logs.length - 1; i >= 0 && out.length < max; i--) {
    const l = logs[i];
    out.push({
      timeEpochMs: num(l.timeEpochMs),
      level: safeText(l.level),
      message: safeText(l.message),
      requestId: l.requestId === undefined ? '' : safeText(l.requestId),
      traceId: l.traceId === undefined ? '' : safeText(l.traceId),
    });
  }
  return { logs: out, dropped: recentEvents.logs.dropped };
}

const SECRET_KEY = /pass|secret|token|key|auth|cookie|credential|session|dsn|url|endpoint|header/i;
/** Packages with their own section; the others show their snapshot's plain fields. */
const OWN_SECTION = new Set(['health', 'alerts']);

/** The plain (number, string, boolean) top-level fields of a package snapshot, without secret-looking ones. */
function plainFields(snapshot: unknown): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) return out;
  let n = 0;
  for (const [key, value] of Object.entries(snapshot as Record<string, unknown>)) {
    if (n >= 12) break;
    if (SECRET_KEY.test(key)) continue;
    if (typeof value === 'number' && Number.isFinite(value)) out[safeText(key)] = value;
    else if (typeof value === 'boolean') out[safeText(key)] = value;
    else if (typeof value === 'string') out[safeText(key)] = safeText(value).slice(0, 80);
    else continue;
    n++;
  }
  return out;
}

/**
 * The registered vigil packages: name, version and, for those without a section of their own,
 * the plain fields of their snapshot (exporter, exported / dropped spans, series, access lines…).
 */
export function packagesSection(): Array<{ name: string; version: string; fields: Record<string, string | number | boolean> }> {
  return registeredPackages().map((p) => ({
    name: safeText(p.name),
    version: safeText(p.version ?? ''),
    fields: OWN_SECTION.has(p.name) ? {} : plainFields(readSnapshot(p.name)),
  }));
}
