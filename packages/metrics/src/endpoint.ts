import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { reportError } from '@vigil/core';
import { acceptsGzip, wantsOpenMetrics } from './negotiation';
import type { EndpointOptions, Scrape } from './types';

const gzip = promisify(gzipCallback);

/** What the endpoint answers, written by each adapter its own way. */
export interface EndpointResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** The endpoint with its options normalised once. */
export interface MetricsEndpoint {
  /** Path served, or `false`. */
  readonly path: string | false;
  /** Answers one scrape. Never rejects. */
  answer(req: IncomingMessage): Promise<EndpointResponse>;
}

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

function plain(status: number, message: string, extra?: Record<string, string>): EndpointResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra }, body: `${message}\n` };
}

/** Validates endpoint options and builds the scrape handler. */
export function createEndpoint(scrape: (openMetrics: boolean) => Promise<Scrape>, options: EndpointOptions): MetricsEndpoint {
  const path = options.path === undefined ? '/metrics' : options.path;
  if (path !== false && (typeof path !== 'string' || !path.startsWith('/'))) fail(`path must start with "/" or be false, got ${String(path)}`);
  const authorize = options.authorize;
  if (authorize !== undefined && typeof authorize !== 'function') fail('authorize must be a function (req) => boolean');
  const token = options.bearerToken;
  if (token !== undefined && (typeof token !== 'string' || token === '')) fail('bearerToken must be a non-empty string');
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);
  const useGzip = options.gzip ?? true;
  if (typeof useGzip !== 'boolean') fail('gzip must be a boolean');
  const openMetrics = options.openMetrics ?? true;
  if (typeof openMetrics !== 'boolean') fail('openMetrics must be a boolean');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) fail(`timeoutMs must be a positive integer, got ${String(timeoutMs)}`);

  function withTimeout(work: Promise<Scrape>): Promise<Scrape> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`metrics collection took longer than ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  }

  async function allowed(req: IncomingMessage): Promise<boolean> {
    if (expected !== undefined) {
      const given = Buffer.from(String(req.headers.authorization ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    }
    if (authorize !== undefined) {
      try {
        return (await authorize(req)) === true;
      } catch (error) {
        reportError('metrics.authorize', error);
        return false;
      }
    }
    return true;
  }

  async function answer(req: IncomingMessage): Promise<EndpointResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    if (!(await allowed(req))) {
      return expected !== undefined && req.headers.authorization === undefined
        ? plain(401, 'Unauthorized', { 'www-authenticate': 'Bearer' })
        : plain(403, 'Forbidden');
    }
    let result: Scrape;
    try {
      result = await withTimeout(scrape(openMetrics && wantsOpenMetrics(req.headers.accept)));
    } catch (error) {
      reportError('metrics.collect', error);
      return plain(500, 'metrics collection failed');
    }
    const headers: Record<string, string> = { 'content-type': result.contentType, 'cache-control': 'no-store', vary: 'Accept, Accept-Encoding' };
    const encodings = req.headers['accept-encoding'];
    if (useGzip && typeof encodings === 'string' && acceptsGzip(encodings)) {
      headers['content-encoding'] = 'gzip';
      return { status: 200, headers, body: await gzip(result.body) };
    }
    return { status: 200, headers, body: result.body };
  }

  return { path, answer };
}

/** Writes an endpoint answer on a plain Node response. */
export function writeAnswer(req: IncomingMessage, res: ServerResponse, answer: EndpointResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Tells whether a raw URL (query string included) asks for the endpoint at `path`: the path
 * itself or the path with one trailing slash (`/metrics/`, which Express and `@koa/router` route
 * to the same handler by default), with or without a query string. No allocation.
 *
 * @example
 * ```ts
 * const isEndpoint = endpointUrlMatcher('/metrics');
 * isEndpoint('/metrics/?x=1'); // true
 * isEndpoint('/metricsx');     // false
 * ```
 */
export function endpointUrlMatcher(path: string | false): (url: string) => boolean {
  if (path === false) return () => false;
  const slashed = path.endsWith('/');
  return (url: string): boolean => {
    if (!url.startsWith(path)) return false;
    let at = path.length;
    if (url.length === at) return true;
    if (!slashed && url.charCodeAt(at) === 47 /* / */) {
      at++;
      if (url.length === at) return true;
    }
    return url.charCodeAt(at) === 63 /* ? */;
  };
}

/** The path of a URL without its query string. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
