import { subscribe } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { generateRequestId, requestIdPolicy, isValidRequestId } from './request-id';
import { reportError } from './safe-run';
import { onResponse, responseFinished, responseHeader, responseHeadersSent, setResponseHeader } from './response';
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
/**
 * Marks an `http.Server` on which an observer of this copy of the core has run. Private to the
 * copy (not `Symbol.for`): a copy that is no longer used (a test runner's previous module registry)
 * keeps its channel subscription but never sees its mark on a new server.
 */
const kObservedServer = Symbol('vigil.observedServer');


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

/**
 * The request id header and `content-length` from `req.rawHeaders`, in one pass, without making
 * Node build `req.headers` (which it does lazily, and which a Koa app serving a GET may never
 * need). A request id header sent twice counts as invalid, as Node would join the two with ", ".
 */
function scanRawHeaders(raw: string[] | undefined, idHeader: string): { id: string | undefined; length: string | undefined } | undefined {
  if (!Array.isArray(raw)) return undefined;
  let id: string | undefined;
  let idCount = 0;
  let length: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === idHeader.length && (name === idHeader || name.toLowerCase() === idHeader)) {
      if (idCount++ === 0) id = raw[i + 1];
    } else if (length === undefined && name.length === 14 && (name === 'content-length' || name.toLowerCase() === 'content-length')) {
      length = raw[i + 1];
    }
  }
  return { id: idCount === 1 ? id : undefined, length };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value[0];
}

/**
 * Bytes the socket has been given so far. `socket.bytesWritten` copies the socket's write buffer
 * into a new array on every read; when nothing is buffered (a keep-alive socket between
 * responses), the count of bytes handed to the kernel is the same number without the copy.
 */
function bytesWrittenSoFar(socket: Socket): number {
  const dispatched = (socket as unknown as { _bytesDispatched?: unknown })._bytesDispatched;
  if (typeof dispatched === 'number' && socket.writableLength === 0) return dispatched;
  return socket.bytesWritten ?? 0;
}

/**
 * The exchange prepared last at request start. The framework handles a request right after its
 * start, in the same tick, so the first observer of a request usually finds its exchange here by
 * comparing one reference, instead of reading a symbol off a response whose hidden class Express
 * has just changed (a slow, megamorphic lookup). Cleared when that exchange completes.
 */
let lastPrepared: ExchangeRecord | undefined;

/** The exchange hung on a response, if any (the last prepared one first). */
function exchangeOf(res: ServerResponse): ExchangeRecord | undefined {
  const last = lastPrepared;
  if (last !== undefined && last.res === res) return last;
  return (res as unknown as Record<symbol, ExchangeRecord | undefined>)[kExchange];
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
  framework: Framework = 'node';
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  private headersCache: IncomingHttpHeaders | undefined = undefined;
  private readonly requestLength: string | undefined;
  ctx: unknown = undefined;
  /**
   * Koa: the promise of the innermost vigil layer that keeps this request's errors (see
   * `continueKoa`), so that a vigil layer outside it adds no second, redundant reaction.
   */
  keptKoaChain: Promise<unknown> | undefined = undefined;
  /**
   * `false` while the exchange was only prepared at request start (see `prepareExchange`) and no
   * vigil observer has claimed it: such an exchange ends without running any sink.
   */
  observed = false;
  /**
   * Express: every layer of the root app passed the request on (it reached vigil's route-end
   * marker, the last layer, before any header was sent): Express's final handler answers it, and
   * a route that matched it and called `next()` did not answer (see `addRouteEnd` in express.ts).
   */
  passedOn = false;
  private pathCache: string | undefined = undefined;
  private routeCache: string | undefined = undefined;
  private routeMatchedCache = false;
  private sinks: ExchangeSink[] | undefined = undefined;
  private resolveRoute: RouteResolver = unresolvedRoute;
  /** Socket bytes before this response's first byte (read again when a pipelined response gets the socket). */
  private bytesWrittenAtStart: number;
  /** The request's socket, read at the start (where `req` still has the shape Node gave it). */
  private readonly socket: Socket | undefined;
  /**
   * The response's one `close` listener. A closure per exchange costs less than finding the
   * exchange again on a response whose hidden class Express has changed since.
   */
  readonly onClose: () => void;

  /**
   * Reads what the request start tells: method, URL, time, request id (when the policy allows it
   * now). `eagerHeaders` makes Node build `req.headers` now, for frameworks that always read them.
   */
  constructor(req: IncomingMessage, res: ServerResponse, eagerHeaders: boolean) {
    this.seq = ++sequence;
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.startTime = performance.now();
    const socket = (req.socket ?? undefined) as Socket | undefined;
    this.socket = socket;
    this.bytesWrittenAtStart = socket === undefined ? 0 : bytesWrittenSoFar(socket);
    this.onClose = () => this.complete();
    // a pipelined request: the socket still writes an earlier response, and this one waits for it
    const writing = (socket as unknown as { _httpMessage?: unknown } | undefined)?._httpMessage;
    if (writing !== undefined && writing !== null && writing !== res) onResponse(res, 'socket', () => this.countBytesFromHere());
    if (eagerHeaders) this.headersCache = req.headers;
    const scanned = eagerHeaders ? undefined : scanRawHeaders(req.rawHeaders, requestIdPolicy.header);
    this.requestLength = scanned === undefined ? headerValue(this.headers, 'content-length') : scanned.length;
    const incoming = scanned === undefined ? headerValue(this.headers, requestIdPolicy.header) : scanned.id;
    if (isValidRequestId(incoming)) this.requestId = incoming;
    // a user's generator may expect the framework's request object: it runs when observed
    else this.requestId = requestIdPolicy.generate === generateRequestId ? generateRequestId() : '';
  }

  /** A queued (pipelined) response got the socket: its bytes start here. */
  private countBytesFromHere(): void {
    if (this.socket !== undefined) this.bytesWrittenAtStart = bytesWrittenSoFar(this.socket);
  }

  /**
   * Socket bytes at the end of this response. 'close' comes a tick after 'finish': by then a
   * pipelined response queued behind this one has the socket and may have written to it, and
   * its own start count is this response's end.
   */
  private bytesWrittenAtEnd(socket: Socket): number {
    const next = (socket as unknown as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (next !== undefined && next !== null && next !== this.res) {
      const queued = exchangeOf(next);
      if (queued !== undefined) return queued.bytesWrittenAtStart;
    }
    return bytesWrittenSoFar(socket);
  }

  /** Claims the exchange for a framework observer (once); the request id is settled by then. */
  observe(framework: Framework, ctx: unknown, resolveRoute: RouteResolver): void {
    this.observed = true;
    this.framework = framework;
    this.ctx = ctx;
    this.resolveRoute = resolveRoute;
    if (this.requestId === '') {
      this.requestId = requestIdPolicy.generate(this.req);
      echoRequestId(this);
    }
    // ended before any observer ran (the client went away while the app's own middleware worked):
    // settled now, and the process-wide sinks see it as they see every observed exchange
    if (this.ended) {
      this.settle();
      runGlobalSinks(this);
    }
  }

  get path(): string {
    if (this.pathCache === undefined) {
      const q = this.url.indexOf('?');
      this.pathCache = q === -1 ? this.url : this.url.slice(0, q);
    }
    return this.pathCache;
  }

  /** The request headers (`req.headers`), read on first use. */
  get headers(): IncomingHttpHeaders {
    if (this.headersCache === undefined) this.headersCache = this.req.headers;
    return this.headersCache;
  }

  get startEpochMs(): number {
    return performance.timeOrigin + this.startTime;
  }

  get route(): string {
    if (this.routeCache !== undefined) return this.routeCache;
    // read while the request is still being routed: what is known now, not kept
    if (!this.ended) return this.template() ?? UNMATCHED_ROUTE;
    return this.computeRoute();
  }

  get routeMatched(): boolean {
    if (this.routeCache !== undefined) return this.routeMatchedCache;
    if (!this.ended) return this.template() !== undefined;
    this.computeRoute();
    return this.routeMatchedCache;
  }

  private computeRoute(): string {
    const template = this.template();
    this.routeMatchedCache = template !== undefined;
    const route = template ?? UNMATCHED_ROUTE;
    this.routeCache = route;
    return route;
  }

  private template(): string | undefined {
    try {
      return this.resolveRoute(this);
    } catch (error) {
      reportError('core.route', error);
      return undefined;
    }
  }

  header(name: string): string | undefined {
    return headerValue(this.headers, name);
  }

  /** Sets the route template explicitly (a package that answers the request itself, e.g. health probes). */
  setRoute(template: string): void {
    this.routeCache = template;
    this.routeMatchedCache = true;
  }

  onEnd(sink: ExchangeSink): void {
    if (this.ended) {
      // too late to wait for the end: what it recorded is final, so the sink runs now
      if (this.observed) runSink(sink, this);
      return;
    }
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
    if (lastPrepared === this) lastPrepared = undefined;
    this.durationMs = performance.now() - this.startTime;
    if (!this.observed) return;
    this.settle();
    const sinks = this.sinks;
    if (sinks !== undefined) {
      for (let i = 0; i < sinks.length; i++) runSink(sinks[i], this);
    }
    runGlobalSinks(this);
  }

  /** Reads what the end of the response tells: sizes, status, outcome (duration is set by then). */
  private settle(): void {
    const res = this.res;
    if (this.requestLength !== undefined) this.requestBytes = Number(this.requestLength) || 0;
    const responseLength = responseHeader(res, 'content-length');
    if (responseLength !== undefined) this.responseBytes = Number(responseLength) || 0;
    else {
      const socket = this.socket;
      if (socket !== undefined) this.responseBytes = Math.max(0, this.bytesWrittenAtEnd(socket) - this.bytesWrittenAtStart);
    }
    if (responseFinished(res)) {
      this.status = res.statusCode;
      this.outcome = this.status >= 500 || isServerError(this.error) ? 'error' : 'ok';
      // a timeout the app answered itself (connect-timeout marks req.timedout and sends a 503)
      if (this.outcome === 'error' && (this.req as unknown as { timedout?: boolean }).timedout === true) this.outcome = 'timeout';
    } else {
      const socket = this.socket as unknown as Record<symbol, boolean> | undefined;
      const timedOut = (this.req as unknown as { timedout?: boolean }).timedout === true || socket?.[kTimedOut] === true;
      if (timedOut) {
        this.outcome = 'timeout';
        this.status = responseHeadersSent(res) ? res.statusCode : SERVER_TIMEOUT_STATUS;
      } else if (isServerError(this.error) && !isConnectionError(this.error)) {
        // the server broke the response off (a failing stream body), not the client
        this.outcome = 'error';
        this.status = responseHeadersSent(res) ? res.statusCode : 500;
      } else {
        this.outcome = 'aborted';
        this.status = CLIENT_CLOSED_STATUS;
      }
    }
  }
}

function runGlobalSinks(ex: Exchange): void {
  for (let i = 0; i < globalSinks.length; i++) runSink(globalSinks[i], ex);
}

function runSink(sink: ExchangeSink, ex: Exchange): void {
  try {
    sink(ex);
  } catch (error) {
    reportError('sink', error);
  }
}

/**
 * Whether an error is the server's: any error except one carrying a 4xx `status` or `statusCode`
 * (`ctx.throw(404)`, http-errors), which is the client's. It decides an exchange's `error` outcome.
 *
 * @example
 * ```ts
 * isServerError(new Error('db down')); // true
 * isServerError(Object.assign(new Error('no such user'), { status: 404 })); // false
 * ```
 */
export function isServerError(error: unknown): boolean {
  if (error === undefined || error === null) return false;
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  return !(typeof status === 'number' && status >= 400 && status < 500);
}

/** Error codes of a connection the peer broke: what a client going away leaves behind. */
const CONNECTION_ERROR_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}

function unresolvedRoute(): string | undefined {
  return undefined;
}

function echoRequestId(ex: ExchangeRecord): void {
  if (requestIdPolicy.echo && ex.requestId !== '' && !responseHeadersSent(ex.res)) setResponseHeader(ex.res, requestIdPolicy.header, ex.requestId);
}

/**
 * The exchange a vigil observer made for a response, without making one; `undefined` when no
 * observer has seen the request.
 *
 * @example
 * ```ts
 * const ex = findExchange(req.res); // in code that holds an Express req
 * ```
 */
export function findExchange(res: ServerResponse): ExchangeRecord | undefined {
  const ex = exchangeOf(res);
  return ex !== undefined && ex.observed ? ex : undefined;
}

/**
 * Makes the exchange of a request and hangs it on the response: the single `close` listener, the
 * server-timeout watch (once per socket) and the echoed request id. Not yet observed.
 */
function prepareExchange(req: IncomingMessage, res: ServerResponse, framework: unknown): ExchangeRecord {
  // Express reads req.headers on every request (req.get, freshness): building them here, before
  // it swaps the prototype of req, is cheaper than letting Express do it after
  const ex = new ExchangeRecord(req, res, framework === 'express');
  (res as unknown as Record<symbol, ExchangeRecord>)[kExchange] = ex;
  lastPrepared = ex;
  // 'close' follows 'finish' on every response, and comes alone when the client went away: one
  // listener covers both; `on` rather than `once` avoids a wrapper per request (complete() runs once)
  onResponse(res, 'close', ex.onClose);
  const socket = req.socket as unknown as (Socket & Record<symbol, boolean>) | undefined;
  if (socket !== undefined && socket !== null && socket[kTimedOut] === undefined) {
    socket[kTimedOut] = false;
    socket.once('timeout', markSocketTimedOut);
  }
  echoRequestId(ex);
  return ex;
}

let listeningForRequestStart = false;

/**
 * Node's `http.server.request.start` diagnostics channel fires before the server's `request`
 * listener runs. On a server where a vigil observer has run before, the exchange is prepared
 * there, while `req` and `res` still have the shapes Node gave them: the same work costs a
 * fraction of what it costs after Express has swapped their prototypes. Never throws into Node.
 */
function onRequestStart(message: unknown): void {
  const { request, response, server } = message as { request: IncomingMessage; response: ServerResponse; server?: Record<symbol, unknown> };
  const framework = server?.[kObservedServer];
  if (framework === undefined) return;
  if ((response as unknown as Record<symbol, unknown>)[kExchange] !== undefined) return;
  try {
    prepareExchange(request, response, framework);
  } catch (error) {
    reportError('core.exchange', error);
  }
}

/** Notes on the request's server which framework observes it (the first one to do so). */
function markServerObserved(req: IncomingMessage, framework: Framework): void {
  const server = (req.socket as unknown as { server?: Record<symbol, unknown> } | undefined)?.server;
  if (server === undefined || server === null || typeof server !== 'object' || server[kObservedServer] !== undefined) return;
  server[kObservedServer] = framework;
  if (listeningForRequestStart) return;
  listeningForRequestStart = true;
  try {
    subscribe('http.server.request.start', onRequestStart);
  } catch {
    // no diagnostics channel for HTTP here: every exchange is made by its observer
  }
}

/** Setup an observer needs once per app, run when its exchange was not prepared at request start. */
export type FirstSightSetup = (req: IncomingMessage, ctx: unknown) => void;

/**
 * Claims the request's exchange for an observer: the one prepared at request start, or a new one.
 * Returns the exchange already claimed if there is one. `setup` runs when this call claims the
 * exchange (once per request), so framework setup that is needed once per app (error capture
 * layers) is done for every app a server dispatches to; it must return at once for an app it has
 * seen.
 */
export function attachExchange(
  framework: Framework,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: unknown,
  resolveRoute: RouteResolver,
  setup?: FirstSightSetup,
): ExchangeRecord {
  let ex = exchangeOf(res);
  if (ex === undefined) {
    ex = prepareExchange(req, res, framework);
    markServerObserved(req, framework);
    ex.observe(framework, ctx, resolveRoute);
    setup?.(req, ctx);
  } else if (!ex.observed) {
    ex.observe(framework, ctx, resolveRoute);
    setup?.(req, ctx);
  }
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
