import { DeliveryError } from '../delivery';

/** Parses `Retry-After` (seconds or an HTTP date) into ms. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * A URL for error messages: scheme and host only, `/…` standing for any path (webhook paths are
 * tokens, even a single segment); query, fragment and credentials are left out.
 *
 * @example
 * ```ts
 * redactUrl('https://hooks.example.com/T0KEN?sig=x'); // 'https://hooks.example.com/…'
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' || u.pathname === '' ? '' : '/…'}`;
  } catch {
    return '(invalid url)';
  }
}

/** Checks a URL option once, in a factory. */
export function checkUrl(url: unknown, what: string): string {
  if (typeof url !== 'string') throw new TypeError(`vigil alerts: ${what} must be a URL string`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`vigil alerts: ${what} is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`vigil alerts: ${what} must be http(s)`);
  return url;
}

/**
 * POSTs JSON; resolves on 2xx, otherwise throws a `DeliveryError` (retryable on network errors,
 * 408, 429 and 5xx; `Retry-After` passed on). Secrets in the URL never reach the message.
 */
export async function postJson(url: string, body: unknown, signal: AbortSignal, what: string, headers: Record<string, string> = {}): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal });
  } catch (error) {
    throw new DeliveryError(`${what}: request to ${redactUrl(url)} failed: ${error instanceof Error ? error.message : String(error)}`, { retryable: true, cause: error });
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return text;
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  throw new DeliveryError(`${what}: ${redactUrl(url)} answered ${res.status} ${text.slice(0, 200)}`, {
    status: res.status, retryable, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
  });
}
