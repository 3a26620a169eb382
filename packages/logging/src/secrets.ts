/**
 * What counts as a secret, and how secrets are masked: header values and query parameters whose
 * names look like credentials never reach a line, even when a header is allowed by name.
 */

import { unescape as unescapeQuery } from 'node:querystring';

/**
 * The value written in place of a secret.
 *
 * @example
 * ```ts
 * maskHeaders({ cookie: 'sid=1' }).cookie === REDACTED; // true
 * ```
 */
export const REDACTED = '[REDACTED]';

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

/** Names that look like credentials: tokens, secrets, passwords (`pass`, `passwd`, passphrases), api keys, sessions, signatures. */
const SECRET_NAME = /token|secret|pass(?:w(?:or)?d|phrase)|pwd|api[-_.]?key|auth|credential|session|cookie|signature|private[-_.]?key|jwt|^(?:key|sig|code|pass)$/i;

/**
 * `true` for a header or parameter name whose value must never be logged.
 *
 * @example
 * ```ts
 * isSecretName('authorization'); // true
 * isSecretName('access_token');  // true
 * isSecretName('user-agent');    // false
 * ```
 */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADERS.has(lower) || SECRET_NAME.test(lower);
}

/**
 * A query parameter name decoded leniently, like `querystring.unescape`: `+` is a space, valid
 * `%XX` escapes are decoded and bad ones kept as they are (`tok%65n%` is `token%`).
 */
function decodeName(raw: string): string {
  const spaced = raw.indexOf('+') === -1 ? raw : raw.replace(/\+/g, ' ');
  if (spaced.indexOf('%') === -1) return spaced;
  return unescapeQuery(spaced);
}

/**
 * The URL with the values of secret-looking query parameters replaced by `[REDACTED]`
 * (`/login?user=ada&password=[REDACTED]`). Names are checked decoded, so `%74oken` is caught.
 * Without a query string the URL is returned as it is.
 *
 * @example
 * ```ts
 * maskUrl('/cb?code=abc&state=1'); // '/cb?code=[REDACTED]&state=1'
 * ```
 */
export function maskUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const parts = url.slice(q + 1).split('&');
  let changed = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (name !== '' && isSecretName(decodeName(name))) {
      parts[i] = `${name}=${REDACTED}`;
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q + 1)}${parts.join('&')}` : url;
}

type HeaderBag = Record<string, string | string[] | number | undefined>;

/**
 * A copy of `headers` with every secret-looking header masked, and the secret-looking query
 * parameters of URL-valued ones (`referer`, `location`) masked as in the path. Names not listed in
 * `allow` are left out when `allow` is given.
 *
 * @example
 * ```ts
 * maskHeaders({ authorization: 'Bearer x', accept: '*' }); // { authorization: '[REDACTED]', accept: '*' }
 * ```
 */
export function maskHeaders(headers: HeaderBag | undefined, allow?: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (headers === undefined || headers === null || typeof headers !== 'object') return out;
  const names = allow ?? Object.keys(headers);
  for (let i = 0; i < names.length; i++) {
    const value = headers[names[i]];
    if (value !== undefined) out[names[i]] = maskedHeaderValue(names[i], value);
  }
  return out;
}

/** Headers whose value is a URL: its secret-looking query parameters are masked as the path's are. */
const URL_HEADERS = new Set(['referer', 'referrer', 'location', 'content-location', 'refresh']);

function maskedHeaderValue(name: string, value: unknown): unknown {
  if (isSecretName(name)) return REDACTED;
  if (!URL_HEADERS.has(name)) return value;
  if (typeof value === 'string') return maskUrl(value);
  return Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? maskUrl(v) : v)) : value;
}

/**
 * An error as a plain object for a log line: `type`, `message`, `stack`, and `code` / `status` /
 * `cause` when present. Anything thrown that is not an error is described by its type and text.
 *
 * @example
 * ```ts
 * serializeError(new TypeError('bad id')); // { type: 'TypeError', message: 'bad id', stack: '...' }
 * ```
 */
export function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  if (error instanceof Error) {
    const out: Record<string, unknown> = {
      type: error.constructor?.name || error.name || 'Error',
      message: String(error.message),
      stack: typeof error.stack === 'string' ? error.stack : undefined,
    };
    const extra = error as Error & { code?: unknown; status?: unknown; statusCode?: unknown; cause?: unknown };
    if (typeof extra.code === 'string' || typeof extra.code === 'number') out.code = extra.code;
    const status = extra.status ?? extra.statusCode;
    if (typeof status === 'number') out.status = status;
    if (extra.cause !== undefined && depth < 3) out.cause = serializeError(extra.cause, depth + 1);
    if (error instanceof AggregateError && depth < 3) out.errors = error.errors.slice(0, 10).map((e) => serializeError(e, depth + 1));
    return out;
  }
  if (error !== null && typeof error === 'object') {
    const message = (error as { message?: unknown }).message;
    return { type: 'Object', message: typeof message === 'string' ? message : safeText(error) };
  }
  return { type: typeof error, message: String(error) };
}

function safeText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * A request as a safe plain object (pino's `req` shape): method, URL with secret parameters
 * masked, masked headers, remote address.
 *
 * @example
 * ```ts
 * logger.info({ req }, 'webhook received'); // authorization and cookies come out as [REDACTED]
 * ```
 */
export function serializeRequest(req: unknown): unknown {
  if (req === null || typeof req !== 'object') return req;
  const r = req as { method?: string; url?: string; originalUrl?: string; headers?: HeaderBag; socket?: { remoteAddress?: string } };
  const url = typeof r.originalUrl === 'string' ? r.originalUrl : r.url;
  return {
    method: r.method,
    url: typeof url === 'string' ? maskUrl(url) : url,
    headers: maskHeaders(r.headers),
    remoteAddress: r.socket?.remoteAddress,
  };
}

/**
 * A response as a safe plain object: status code and masked headers (no `set-cookie` value).
 *
 * @example
 * ```ts
 * logger.info({ res }, 'sent');
 * ```
 */
export function serializeResponse(res: unknown): unknown {
  if (res === null || typeof res !== 'object') return res;
  const r = res as { statusCode?: number; getHeaders?: () => HeaderBag };
  return { statusCode: r.statusCode, headers: typeof r.getHeaders === 'function' ? maskHeaders(r.getHeaders()) : {} };
}
