import { reportError } from '@vigil/core';
import { HEALTH_JSON, ietfBody, verboseText } from './ietf-body';
import type { Health, HealthEndpointOptions, HealthReport, ProbeEndpoint } from './types';

/** A probe path that matched. */
export interface ProbeMatch {
  readonly endpoint: ProbeEndpoint;
  /** The check named in `/readyz/<check>`. */
  readonly check: string | undefined;
  /** Route template for metrics (`/readyz`, `/readyz/:check`). */
  readonly route: string;
}

/** What to send back. */
export interface ProbeAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Options normalised once by the adapters. */
export interface ProbeSettings<Req> {
  production: boolean;
  quiet: boolean;
  canSeeDetails: ((req: Req) => boolean) | undefined;
}

const ENDPOINT_GROUP: Record<ProbeEndpoint, string | undefined> = {
  health: undefined,
  readiness: 'readiness',
  liveness: 'liveness',
  readyz: 'readiness',
  livez: 'liveness',
  startupz: 'startup',
};
const TEXT = 'text/plain; charset=utf-8';
const ENDPOINTS: ProbeEndpoint[] = ['health', 'readiness', 'liveness', 'readyz', 'livez', 'startupz'];
const PATH_PATTERN = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*$/;

function normalisePath(path: string, what: string): string {
  if (typeof path !== 'string' || !PATH_PATTERN.test(path)) throw new TypeError(`@vigil/health: ${what} must be a path like /ops, got ${JSON.stringify(path)}`);
  return path;
}

/** Resolves probe paths and answers them; shared by the Express and Koa adapters. */
export class ProbeRouter<Req> {
  readonly settings: ProbeSettings<Req>;
  private readonly health: Health;
  private readonly exact = new Map<string, ProbeMatch>();
  /** `/readyz/` prefixes of the endpoints that have a path per check. */
  private readonly perCheck: Array<{ prefix: string; endpoint: ProbeEndpoint; route: string }> = [];

  constructor(health: Health, options: HealthEndpointOptions<Req> | undefined, framework: string) {
    if (health === null || typeof health !== 'object' || typeof (health as Health).check !== 'function') {
      throw new TypeError(`@vigil/health: ${framework}Health needs the engine from createHealth()`);
    }
    const o = options ?? {};
    if (typeof o !== 'object') throw new TypeError(`@vigil/health: ${framework}Health options must be an object`);
    this.health = health;
    const base = o.basePath === undefined || o.basePath === '/' ? '' : normalisePath(o.basePath, 'basePath');
    if (o.canSeeDetails !== undefined && typeof o.canSeeDetails !== 'function') throw new TypeError('@vigil/health: canSeeDetails must be a function');
    if (o.production !== undefined && typeof o.production !== 'boolean') throw new TypeError('@vigil/health: production must be a boolean');
    if (o.quiet !== undefined && typeof o.quiet !== 'boolean') throw new TypeError('@vigil/health: quiet must be a boolean');
    this.settings = {
      production: o.production ?? process.env.NODE_ENV === 'production',
      quiet: o.quiet ?? true,
      canSeeDetails: o.canSeeDetails,
    };
    const paths = o.paths ?? {};
    for (const key of Object.keys(paths)) {
      if (!ENDPOINTS.includes(key as ProbeEndpoint)) throw new TypeError(`@vigil/health: unknown endpoint in paths: ${key} (use ${ENDPOINTS.join(', ')})`);
    }
    for (const endpoint of ENDPOINTS) {
      const configured = paths[endpoint];
      if (configured === false) continue;
      const path = base + (configured === undefined ? `/${endpoint}` : normalisePath(configured, `paths.${endpoint}`));
      if (path === '') throw new TypeError(`@vigil/health: paths.${endpoint} cannot be empty`);
      if (this.exact.has(path)) throw new TypeError(`@vigil/health: two endpoints share the path ${path}`);
      this.exact.set(path, { endpoint, check: undefined, route: path });
      if (endpoint.endsWith('z')) this.perCheck.push({ prefix: path + '/', endpoint, route: path + '/:check' });
    }
  }

  /** Matches a request path (without query string); tolerates one trailing slash. */
  match(path: string): ProbeMatch | undefined {
    const hit = this.exact.get(path);
    if (hit !== undefined) return hit;
    let p = path;
    if (p.length > 1 && p.charCodeAt(p.length - 1) === 47 /* / */) {
      p = p.slice(0, -1);
      const trimmed = this.exact.get(p);
      if (trimmed !== undefined) return trimmed;
    }
    for (const candidate of this.perCheck) {
      if (p.startsWith(candidate.prefix)) {
        const name = p.slice(candidate.prefix.length);
        if (name !== '' && !name.includes('/')) {
          let check: string;
          try {
            check = decodeURIComponent(name);
          } catch {
            check = name;
          }
          return { endpoint: candidate.endpoint, check, route: candidate.route };
        }
      }
    }
    return undefined;
  }

  /** Whether a caller may see details. */
  detailsFor(req: Req): boolean {
    const settings = this.settings;
    if (!settings.production) return true;
    const allow = settings.canSeeDetails;
    if (allow === undefined) return false;
    try {
      return allow(req) === true;
    } catch (error) {
      reportError('health.canSeeDetails', error);
      return false;
    }
  }

  /** Evaluates the probe and renders the answer. Never rejects. */
  async answer(match: ProbeMatch, query: string, details: boolean): Promise<ProbeAnswer> {
    const health = this.health;
    const group = ENDPOINT_GROUP[match.endpoint];
    let verbose = false;
    let exclude: string[] | undefined;
    if (query !== '') {
      const params = new URLSearchParams(query);
      verbose = params.has('verbose') && params.get('verbose') !== 'false' && params.get('verbose') !== '0';
      const excluded = params.getAll('exclude');
      if (excluded.length > 0) exclude = excluded.flatMap((v) => v.split(',')).filter((v) => v !== '');
    }
    if (match.check !== undefined && !health.has(match.check, group)) {
      return { status: 404, contentType: TEXT, body: `no check named ${JSON.stringify(match.check)} in ${match.endpoint}\n` };
    }
    let report: HealthReport;
    try {
      report = await health.check(group, { exclude, only: match.check });
    } catch (error) {
      reportError('health.check', error);
      return { status: 503, contentType: TEXT, body: `${match.endpoint} check failed\n` };
    }
    let failed = report.status === 'fail';
    if (match.check !== undefined && report.checks.length === 1 && report.checks[0].status === 'fail') failed = true;
    const status = failed ? 503 : 200;
    const probeName = match.endpoint;
    if (verbose) return { status, contentType: TEXT, body: verboseText(probeName, report, details, failed) };
    if (match.endpoint.endsWith('z')) {
      return { status, contentType: TEXT, body: failed ? verboseText(probeName, report, details, true) : 'ok\n' };
    }
    const body = ietfBody(health, report, details, Date.now());
    if (match.endpoint === 'readiness') body.ready = !failed;
    else if (match.endpoint === 'liveness') body.alive = !failed;
    return { status, contentType: HEALTH_JSON, body: JSON.stringify(body) };
  }
}
