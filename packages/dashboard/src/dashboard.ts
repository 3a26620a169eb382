import type { IncomingMessage, ServerResponse } from 'node:http';
import { reportError } from '@vigil/core';
import { escapeHtml, loadAssets } from './assets';
import { sharedSampler, type Sampler } from './sampler';
import type { DashboardAuthorize, DashboardOptions } from './types';

/** A complete answer, written by the Express or Koa adapter. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** Writes beyond this many buffered bytes are skipped for a slow stream (it catches up on the next tick). */
const MAX_BUFFERED_BYTES = 1 << 20;

const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`vigil: dashboard option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function text(status: number, body: string, extra: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...PAGE_HEADERS, ...extra }, body };
}

let warnedUnprotected = false;

/**
 * The framework-free dashboard: options normalised once, path matching, access control, the page,
 * its assets, a JSON snapshot and the Server-Sent Events stream.
 */
export class DashboardEngine {
  readonly enabled: boolean;
  readonly path: string;
  private readonly authorizeHook: DashboardAuthorize | undefined;
  private readonly title: string;
  private readonly maxClients: number;
  private readonly sampler: Sampler | undefined;
  private readonly pages = new Map<string, Reply>();
  private streams = 0;
  /** Ticks not written to a slow stream. */
  skippedWrites = 0;

  constructor(options: DashboardOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('vigil: dashboard options must be an object');
    const path = options.path ?? '/_vigil';
    if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
      throw new TypeError(`vigil: dashboard path must be a string starting with '/', without query or spaces, got ${String(path)}`);
    }
    this.path = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (options.enabled !== undefined && typeof options.enabled !== 'boolean') throw new TypeError('vigil: dashboard option enabled must be a boolean');
    if (options.authorize !== undefined && typeof options.authorize !== 'function') throw new TypeError('vigil: dashboard option authorize must be a function');
    if (options.title !== undefined && typeof options.title !== 'string') throw new TypeError('vigil: dashboard option title must be a string');
    if (options.serviceName !== undefined && typeof options.serviceName !== 'string') throw new TypeError('vigil: dashboard option serviceName must be a string');
    this.maxClients = positiveInt('maxClients', options.maxClients, 16);
    const maxRoutes = positiveInt('maxRoutes', options.maxRoutes, 1000);
    const maxTraces = positiveInt('maxTraces', options.maxTraces, 20);
    const maxLogs = positiveInt('maxLogs', options.maxLogs, 50);
    this.authorizeHook = options.authorize;
    const production = process.env.NODE_ENV === 'production';
    this.enabled = options.enabled ?? !production;
    const serviceName = options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? process.env.npm_package_name ?? process.title;
    this.title = options.title ?? `vigil · ${serviceName}`;
    if (!this.enabled) return;
    if (production && this.authorizeHook === undefined && !warnedUnprotected) {
      warnedUnprotected = true;
      process.emitWarning('vigil: the dashboard is enabled in production without an authorize hook', { code: 'VIGIL_DASHBOARD_UNPROTECTED' });
    }
    loadAssets();
    this.sampler = sharedSampler();
    this.sampler.configure({ maxRoutes, maxTraces, maxLogs }, serviceName);
  }

  /** The part of `url` below the mount path (`''`, `/`, `/events`, ...) or `undefined` when it is not the dashboard's. */
  match(url: string): string | undefined {
    if (!url.startsWith(this.path)) return undefined; // every other request: one string compare
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (this.path === '/') return pathname;
    const rest = pathname.slice(this.path.length);
    return rest === '' || rest.startsWith('/') ? rest : undefined;
  }

  /** Runs the `authorize` hook; a hook that throws or rejects denies. */
  async authorize(req: IncomingMessage, ctx?: unknown): Promise<boolean> {
    const hook = this.authorizeHook;
    if (hook === undefined) return true;
    try {
      return (await hook(req, ctx)) === true;
    } catch (error) {
      reportError('dashboard.authorize', error);
      return false;
    }
  }

  /** The answer to a non-stream request; `undefined` means "open the stream". */
  reply(sub: string, method: string, base: string, ifNoneMatch: string | undefined): Reply | undefined {
    if (method !== 'GET' && method !== 'HEAD') return text(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    if (sub === '' || sub === '/' || sub === '/index.html') return this.page(base);
    if (sub === '/events') return undefined;
    const sampler = this.sampler as Sampler;
    if (sub === '/snapshot.json') {
      const body = JSON.stringify({ ...sampler.payload(), history: sampler.points() });
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...PAGE_HEADERS }, body };
    }
    const file = loadAssets().files.get(sub);
    if (file === undefined) return text(404, 'Not Found');
    const headers = { 'content-type': file.type, etag: file.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    if (ifNoneMatch === file.etag) return { status: 304, headers, body: '' };
    return { status: 200, headers, body: file.body };
  }

  private page(base: string): Reply {
    let reply = this.pages.get(base);
    if (reply === undefined) {
      const html = loadAssets().page.replaceAll('{{BASE}}', escapeHtml(base)).replaceAll('{{TITLE}}', escapeHtml(this.title));
      reply = { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...PAGE_HEADERS }, body: html };
      if (this.pages.size < 16) this.pages.set(base, reply);
    }
    return reply;
  }

  /** Opens a Server-Sent Events stream: the 15-minute history first, then one `tick` event a second. */
  openStream(req: IncomingMessage, res: ServerResponse): void {
    const sampler = this.sampler as Sampler;
    if (res.destroyed || res.writableEnded) return; // the client left while `authorize` ran
    if (this.streams >= this.maxClients) {
      const r = text(503, 'Too many dashboard streams', { 'retry-after': '5' });
      res.writeHead(r.status, r.headers).end(r.body);
      return;
    }
    this.streams++;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    const socket = req.socket;
    const server = (socket as unknown as { server?: { listening?: boolean } }).server;
    res.write(`retry: 3000\n\nevent: history\ndata: ${JSON.stringify({ points: sampler.points() })}\n\n`);
    res.write(`event: tick\ndata: ${JSON.stringify(sampler.payload())}\n\n`);
    let closed = false;
    const listener = (payload: string): void => {
      if (server !== undefined && server.listening === false) {
        // the server is shutting down: end the stream and its connection so they do not hold it open
        res.end(() => socket.destroy());
        return;
      }
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.skippedWrites++;
        return;
      }
      res.write(`event: tick\ndata: ${payload}\n\n`);
    };
    const unsubscribe = sampler.subscribe(listener);
    const close = (): void => {
      if (closed) return;
      closed = true;
      this.streams--;
      unsubscribe();
    };
    res.once('close', close);
  }

  /** Open streams served by this dashboard. */
  get openStreams(): number {
    return this.streams;
  }
}
