import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestContextEnabled, runInExchange } from './context';
import { attachExchange, findExchange, type ExchangeRecord } from './exchange';
import { requestIdPolicy } from './request-id';
import { koaRouteTemplate } from './koa-route';
import type { Exchange } from './types';

interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  app?: { on?: (event: 'error', listener: (err: unknown, ctx?: { res?: ServerResponse }) => void) => unknown };
}

const appsWithErrorCapture = new WeakSet<object>();

/**
 * Keeps errors that an app answers itself but reports with `app.emit('error', err, ctx)` (Koa's
 * convention, and what Koa does for errors that reach it). Listening does not replace Koa's
 * default error printer: Koa adds that when `callback()` is made, if it had no listener then.
 */
function vigilKoaAppError(err: unknown, ctx?: { res?: ServerResponse }): void {
  if (ctx?.res !== undefined) findExchange(ctx.res)?.recordError(err);
}

function ensureKoaErrorCapture(_req: IncomingMessage, ctx: unknown): void {
  const app = (ctx as KoaContextLike).app;
  if (app === undefined || appsWithErrorCapture.has(app)) return;
  appsWithErrorCapture.add(app);
  if (typeof app.on === 'function') app.on('error', vigilKoaAppError);
}

function resolveKoaRoute(ex: ExchangeRecord): string | undefined {
  if (ex.ended && ex.status === 404 && !statusSetByApp(ex.ctx)) return undefined;
  return koaRouteTemplate(ex.ctx);
}

/**
 * Whether something set the response status. Koa answers 404 by default when nothing did: a route
 * that matched and passed on with `next()` did not answer, so its template is not the request's.
 */
function statusSetByApp(ctx: unknown): boolean {
  const response = (ctx as { response?: { _explicitStatus?: boolean } } | undefined)?.response;
  return response === undefined || response === null || response._explicitStatus === true;
}

/**
 * Keeps the error on the exchange. Koa's error handler clears the response headers and then sets
 * `err.headers`, so the echoed request id is added there to survive error responses.
 */
function keepKoaError(ex: Exchange, error: unknown): void {
  (ex as ExchangeRecord).recordError(error);
  if (!requestIdPolicy.echo || error === null || typeof error !== 'object') return;
  const withHeaders = error as { headers?: Record<string, string> };
  try {
    withHeaders.headers = { ...withHeaders.headers, [requestIdPolicy.header]: ex.requestId };
  } catch {
    // a frozen error: the access log still has the id
  }
}

/**
 * Creates the request's exchange for a Koa context, or returns the one another vigil package
 * already made. Continue with `runKoaDownstream(ex, next)`.
 *
 * @example
 * ```ts
 * app.use(async function myObserver(ctx, next) {
 *   const ex = observeKoa(ctx);
 *   ex.onEnd((done) => console.log(done.route, done.status));
 *   await runKoaDownstream(ex, next);
 * });
 * ```
 */
export function observeKoa(ctx: KoaContextLike): Exchange {
  return attachExchange('koa', ctx.req, ctx.res, ctx, resolveKoaRoute, ensureKoaErrorCapture);
}

/**
 * Runs the rest of a Koa chain, in the exchange's context when `enterContext`, keeping an error it
 * throws or rejects with on the exchange and rethrowing it unchanged. Not an async function: one
 * promise reaction per layer instead of an async function's promise and its await.
 *
 * When the chain's promise is the very promise an inner vigil layer of the same request returned
 * (adjacent vigil middlewares, or only layers that pass `next()`'s promise through between them;
 * koa-compose hands a native promise on as it is), that layer already keeps the error: this one
 * returns the promise as it is instead of adding a second reaction, which would keep the same
 * error again. Any app middleware in between returns a promise of its own, and then this layer
 * keeps what reaches it.
 */
function downstream(ex: Exchange, next: () => Promise<unknown>, enterContext: boolean): Promise<unknown> {
  let result: unknown;
  try {
    result = enterContext ? runInExchange(ex, next) : next();
  } catch (error) {
    keepKoaError(ex, error);
    return Promise.reject(error);
  }
  if (!(result instanceof Promise)) return Promise.resolve(result);
  const record = ex as ExchangeRecord;
  if (result === record.keptKoaChain) return result;
  const kept = result.then(undefined, (error: unknown) => {
    keepKoaError(ex, error);
    throw error;
  });
  record.keptKoaChain = kept;
  return kept;
}

/**
 * Runs the rest of a Koa chain inside the exchange's context, keeping any error it throws on the
 * exchange and rethrowing it unchanged for Koa to handle. Return (or await) what it returns.
 *
 * @example
 * ```ts
 * app.use((ctx, next) => runKoaDownstream(observeKoa(ctx), next));
 * ```
 */
export function runKoaDownstream(ex: Exchange, next: () => Promise<unknown>): Promise<unknown> {
  return downstream(ex, next, true);
}

/**
 * Continues a Koa chain for a package that does not need the request context itself: it enters
 * the context only when something in the process asked for it (`currentExchange()`, logging,
 * tracing), so an app with metrics alone pays nothing for AsyncLocalStorage. Errors are kept on the
 * exchange as with `runKoaDownstream`.
 *
 * @example
 * ```ts
 * app.use((ctx, next) => continueKoa(observeKoa(ctx), next));
 * ```
 */
export function continueKoa(ex: Exchange, next: () => Promise<unknown>): Promise<unknown> {
  return downstream(ex, next, requestContextEnabled());
}
