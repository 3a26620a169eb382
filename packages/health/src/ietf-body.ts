import type { CheckReport, Health, HealthReport } from './types';

/**
 * Media type of the IETF health-check response format (draft-inadarei-api-health-check).
 *
 * @example
 * ```ts
 * const isHealthJson = res.headers['content-type'] === HEALTH_JSON;
 * ```
 */
export const HEALTH_JSON = 'application/health+json';
/**
 * What an anonymous caller sees instead of a check's output in production.
 *
 * @example
 * ```ts
 * const hidden = body.checks.database[0].output === REASON_WITHHELD;
 * ```
 */
export const REASON_WITHHELD = 'reason withheld';

/**
 * One entry of the body's `checks` object (IETF field names).
 *
 * @example
 * ```ts
 * const entry: IetfCheck = { componentType: 'datastore', observedValue: 3, observedUnit: 'ms', status: 'pass', time: new Date().toISOString() };
 * ```
 */
export interface IetfCheck {
  componentType?: string;
  observedValue?: number | string;
  observedUnit?: string;
  status: string;
  time?: string;
  output?: string;
}

/**
 * The IETF health-check response body served by `/health`, `/readiness` and `/liveness`.
 *
 * @example
 * ```ts
 * const body = (await (await fetch('http://127.0.0.1:3000/health')).json()) as IetfBody;
 * if (body.status === 'fail') console.log(Object.keys(body.checks));
 * ```
 */
export interface IetfBody {
  status: string;
  version?: string;
  releaseId?: string;
  serviceId: string;
  description: string;
  output?: string;
  checks: Record<string, IetfCheck[]>;
  [extension: string]: unknown;
}

function checkEntry(check: CheckReport, details: boolean): IetfCheck {
  const entry = {} as IetfCheck;
  if (check.componentType !== undefined) entry.componentType = check.componentType;
  if (details && check.observedValue !== undefined) {
    entry.observedValue = check.observedValue;
    if (check.observedUnit !== undefined) entry.observedUnit = check.observedUnit;
  }
  entry.status = check.status;
  if (check.time !== undefined) entry.time = check.time;
  // IETF: output SHOULD be omitted for "pass".
  if (check.status !== 'pass') entry.output = details ? check.output ?? check.status : REASON_WITHHELD;
  else if (details && check.output !== undefined) entry.output = check.output;
  return entry;
}

/**
 * Builds the `application/health+json` body of a report. Observed values, outputs and uptime are
 * included only when `details` is true; otherwise a failing check shows "reason withheld".
 */
export function ietfBody(health: Health, report: HealthReport, details: boolean, now: number): IetfBody {
  const body: IetfBody = { status: report.status, serviceId: health.serviceId, description: health.service, checks: {} };
  if (health.version !== undefined) body.version = health.version;
  if (health.releaseId !== undefined) body.releaseId = health.releaseId;
  if (report.output !== undefined) body.output = report.output;
  const checks = body.checks;
  for (const check of report.checks) checks[check.key] = [checkEntry(check, details)];
  if (details && checks.uptime === undefined) {
    checks.uptime = [
      { componentType: 'system', observedValue: Math.round(now - health.startedEpochMs) / 1000, observedUnit: 's', status: 'pass', time: new Date(now).toISOString() },
    ];
  }
  return body;
}

/**
 * The Kubernetes-style verbose text (`[+]database ok`, `[-]cache failed: reason withheld`), ending
 * with `<probe> check passed|failed`.
 */
export function verboseText(probe: string, report: HealthReport, details: boolean, failed: boolean): string {
  let text = '';
  for (const check of report.checks) {
    if (check.status === 'pass') {
      text += `[+]${check.name} ok\n`;
      continue;
    }
    const reason = details ? check.output ?? check.status : REASON_WITHHELD;
    const word = check.status === 'warn' ? 'warn' : check.critical ? 'failed' : 'failed (non-critical)';
    text += `${check.status === 'fail' ? '[-]' : '[+]'}${check.name} ${word}: ${reason}\n`;
  }
  if (report.shuttingDown && failed) text += '[-]shutdown failed: shutting down\n';
  if (report.unknownExcludes.length > 0) {
    text += `warn: some health checks cannot be excluded: no matches for ${report.unknownExcludes.map((n) => JSON.stringify(n)).join(',')}\n`;
  }
  return text + `${probe} check ${failed ? 'failed' : 'passed'}\n`;
}
