import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { requestIdPolicy, isValidRequestId } from './request-id';
import { reportError } from './safe-run';
import type { Exchange, ExchangeSink, Framework, Outcome } from './types';

/** Route value for a request that no route answered. One constant, never the raw path. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Status recorded for a request whose client went away before the response ended (nginx's 499). */
export const CLIENT_CLOSED_STATUS = 499;
/** Status recorded for a request the server timed out before sending anything. */
export const SERVER_TIMEOUT_STATUS = 504;

/** Resolves a route template once the request has been routed: `[template, matched]`. */
export type RouteResolver = (ex: ExchangeRecord) => string | undefined;

const kExchange = Symbol.for('vigil.exchange');
const kTimedOut = Symbol.for('vigil.socketTimedOut');

const globalSinks: ExchangeSink[] = [];
let sequence = 0;

/**
 * Subscribes a sink to every exchange in the process. Returns a function that unsubscribes.
 * Sinks run after the per-exchange sinks, through `safeRun`.
 *
 * @example
 * ```ts
 * const stop = onExchangeEnd((ex) => console.log(ex.method, ex.route, ex.status, ex.durationMs));
 * stop();
 * ```
 */
export function onExchangeEnd(sink: ExchangeSink): () => void {
  if (typeof sink !== 'function') throw new TypeError('vigil: onExchangeEnd needs a function');
  globalSinks.push(sink);
  return () => {
    const at = globalSinks.indexOf(sink);
    if (at >= 0) globalSinks.splice(at, 1);
  };
}

function markSocketTimedOut(this: Socket): void {
  (this as unknown as Record<symbol, boolean>)[kTimedOut] = true;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value[0];
}

function onResponseClose(this: ServerResponse): void {
  const ex = (this as unknown as Record<symbol, ExchangeRecord | undefined>)[kExchange];
  if (ex !== undefined) ex.complete();
}

/** The exchange implementation. All fields are set in the constructor so the shape stays fixed. */
export class ExchangeRecord implements Exchange {
  readonly seq: number;
  requestId: string;
  readonly method: string;
  readonly url: string;
  readonly startTime: number;
  durationMs = 0;
  status = 0;
  requestBytes = 0;
  responseBytes = 0;
  outcome: Outcome = 'ok';
  error: unknown = undefined;
  ended = false;
  quiet = false;
  traceId = '';
  spanId = '';
  traceFlags = 0;
  span: unknown = undefined;
  logger: unknown = undefined;
  readonly framework: Framework;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: unknown;
  private pathCache: string | undefined = undefined;
  private routeCache: string | undefined = undefined;
  private routeMatchedCache = false;
  private sinks: ExchangeSink[] | undefined = undefined;
  private readonly resolveRoute: RouteResolver;
  private readonly bytesWrittenAtStart: number;

  constructor(framework: Framework, req: IncomingMessage, res: ServerResponse, ctx: unknown, resolveRoute: RouteResolver) {
    this.seq = ++sequence;
    this.framework = framework;
    this.req = req;
    this.res = res;
    this.ctx = ctx;
    this.resolveRoute = resolveRoute;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.startTime = performance.now();
    const socket = req.socket as Socket | undefined;
    this.bytesWrittenAtStart = socket?.bytesWritten ?? 0;
    const incoming = headerValue(req, requestIdPolicy.header);
    this.requestId = isValidRequestId(incoming) ? incoming : requestIdPolicy.generate(req);
  }

  get path(): string {
    if (this.pathCache === undefined) {
      const q = this.url.indexOf('?');
      this.pathCache = q === -1 ? this.url : this.url.slice(0, q);
    }
    return this.pathCache;
  }

  get startEpochMs(): number {
    return performance.timeOrigin + this.startTime;
  }

  get route(): string {
    if (this.routeCache === undefined) this.computeRoute();
    return this.routeCache as string;
  }

  get routeMatched(): boolean {
    if (this.routeCache === undefined) this.computeRoute();
    return this.routeMatchedCache;
  }

  private computeRoute(): void {
    let template: string | undefined;
    try {
      template = this.resolveRoute(this);
    } catch (error) {
      reportError('core.route', error);
    }
    this.routeMatchedCache = template !== undefined;
    this.routeCache = template ?? UNMATCHED_ROUTE;
  }

  header(name: string): string | undefined {
    return headerValue(this.req, name);
  }

  /** Sets the route template explicitly (a package that answers the request itself, e.g. health probes). */
  setRoute(template: string): void {
    this.routeCache = template;
    this.routeMatchedCache = true;
  }

  onEnd(sink: ExchangeSink): void {
    if (this.ended) return;
    if (this.sinks === undefined) this.sinks = [sink];
    else this.sinks.push(sink);
  }

  /** Records an error thrown or forwarded while serving the request (first one wins). */
  recordError(error: unknown): void {
    if (this.error === undefined) this.error = error;
  }

  /** Ends the exchange once: status, duration, sizes, outcome; then the sinks. */
  complete(): void {
    if (this.ended) return;
    this.ended = true;
    const res = this.res;
    this.durationMs = performance.now() - this.startTime;
    const requestLength = this.req.headers['content-length'];
    if (requestLength !== undefined) this.requestBytes = Number(requestLength) || 0;
    const responseLength = res.getHeader('content-length');
    if (responseLength !== undefined) this.responseBytes = Number(responseLength) || 0;
    else {
      const socket = this.req.socket as Socket | undefined;
      if (socket) this.responseBytes = Math.max(0, socket.bytesWritten - this.bytesWrittenAtStart);
    }
    if (res.writableFinished) {
      this.status = res.statusCode;
      this.outcome = this.status >= 500 || isServerError(this.error) ? 'error' : 'ok';
    } else {
      const socket = this.req.socket as unknown as Record<symbol, boolean> | undefined;
      const timedOut = (this.req as unknown as { timedout?: boolean }).timedout === true || socket?.[kTimedOut] === true;
      if (timedOut) {
        this.outcome = 'timeout';
        this.status = res.headersSent ? res.statusCode : SERVER_TIMEOUT_STATUS;
      } else {
        this.outcome = 'aborted';
        this.status = CLIENT_CLOSED_STATUS;
      }
    }
    const sinks = this.sinks;
    if (sinks !== undefined) {
      for (let i = 0; i < sinks.length; i++) runSink(sinks[i], this);
    }
    for (let i = 0; i < globalSinks.length; i++) runSink(globalSinks[i], this);
  }
}

function runSink(sink: ExchangeSink, ex: Exchange): void {
  try {
    sink(ex);
  } catch (error) {
    reportError('sink', error);
  }
}

/** An error counts toward `error` unless it carries a 4xx status (`ctx.throw(404)`, http-errors). */
function isServerError(error: unknown): boolean {
  if (error === undefined || error === null) return false;
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  return !(typeof status === 'number' && status >= 400 && status < 500);
}

/** The exchange already attached to a response, if any. */
export function existingExchange(res: ServerResponse): ExchangeRecord | undefined {
  return (res as unknown as Record<symbol, ExchangeRecord | undefined>)[kExchange];
}

/**
 * Creates the exchange for a request, or returns the one already there. Adds the single `close`
 * listener, watches the socket for server timeouts (once per socket) and echoes the request id.
 */
export function attachExchange(
  framework: Framework,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: unknown,
  resolveRoute: RouteResolver,
): ExchangeRecord {
  const slot = res as unknown as Record<symbol, ExchangeRecord | undefined>;
  const existing = slot[kExchange];
  if (existing !== undefined) return existing;
  const ex = new ExchangeRecord(framework, req, res, ctx, resolveRoute);
  slot[kExchange] = ex;
  // 'close' follows 'finish' on every response, and comes alone when the client went away: one
  // listener covers both; `on` rather than `once` avoids a wrapper per request (complete() runs once)
  res.on('close', onResponseClose);
  const socket = req.socket as unknown as (Socket & Record<symbol, boolean>) | undefined;
  if (socket !== undefined && socket !== null && socket[kTimedOut] === undefined) {
    socket[kTimedOut] = false;
    socket.once('timeout', markSocketTimedOut);
  }
  if (requestIdPolicy.echo && !res.headersSent) res.setHeader(requestIdPolicy.header, ex.requestId);
  return ex;
}

/**
 * Sets the route template of an exchange explicitly, for a package that answers the request
 * itself without a router (health probes answer `/readyz` this way), so metrics label it by
 * that template instead of `UNMATCHED_ROUTE`. Ignored for exchanges not made by the core.
 *
 * @example
 * ```ts
 * const ex = observeExpress(req, res);
 * setExchangeRoute(ex, '/readyz');
 * ```
 */
export function setExchangeRoute(ex: Exchange, template: string): void {
  if (ex instanceof ExchangeRecord) ex.setRoute(template);
}
