import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachExchange, findExchange, type ExchangeRecord } from './exchange';
import { firstVigilLayer, mergeVigilLayers } from './express-merge';
import { expressRouteTemplate } from './express-route';
import type { Exchange } from './types';

interface ExpressLayerLike {
  handle?: { length?: number };
}

interface ExpressAppLike {
  parent?: ExpressAppLike;
  use?: (fn: (err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void) => unknown;
  _router?: { stack?: ExpressLayerLike[] };
  router?: { stack?: ExpressLayerLike[] };
}

const appsWithErrorCapture = new WeakSet<object>();

function resolveExpressRoute(ex: ExchangeRecord): string | undefined {
  return expressRouteTemplate(ex.req, ex.path);
}

/**
 * Error-handling layer added once to the root app on its first request: it keeps the error on the
 * exchange, then passes it on unchanged.
 */
function vigilCaptureError(err: unknown, _req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  findExchange(res)?.recordError(err);
  next(err);
}

/**
 * Setup on an app's first observed request: the error capture layer, then one layer for each run
 * of adjacent vigil middlewares.
 */
function setUpAppOnce(req: IncomingMessage): void {
  const own = (req as unknown as { app?: ExpressAppLike }).app;
  if (own === undefined) return;
  let app = own;
  while (app.parent !== undefined) app = app.parent;
  if (appsWithErrorCapture.has(app)) return;
  appsWithErrorCapture.add(app);
  addErrorCapture(app);
  // then give each run of adjacent vigil middlewares one layer (see express-merge.ts)
  mergeVigilLayers(app._router ?? app.router);
  if (own !== app) mergeVigilLayers(own._router ?? own.router);
}

/**
 * Places the capture layer where every error passed on at the root meets it before the app's own
 * error handlers: before the first error handler after the first vigil middleware (an app that
 * answers errors and then has a 404 catch-all still has them recorded), or, without a vigil
 * middleware at the root, before the trailing run of error handlers; at the end when there are
 * none. Both lie after the layer running now, which keeps its index. This changes the stack the
 * first request is being routed on, so that its error is kept too: a request that never passed a
 * vigil layer and is inside an asynchronous error handler past that point at that moment would
 * meet that handler again when it calls `next(err)`. Error handlers of a router or sub-app of the
 * app's answer errors that never reach the root: those are not seen.
 */
function addErrorCapture(app: ExpressAppLike): void {
  if (typeof app.use !== 'function') return;
  app.use(vigilCaptureError);
  // Express 4 keeps the router in `_router` (its `app.router` getter throws); Express 5 in `router`
  const stack = (app._router ?? app.router)?.stack;
  if (!Array.isArray(stack) || stack.length < 2) return;
  const capture = stack[stack.length - 1];
  const last = stack.length - 1;
  let at = last;
  const vigil = firstVigilLayer(stack.slice(0, last));
  if (vigil >= 0) {
    at = vigil + 1;
    while (at < last && stack[at].handle?.length !== 4) at++;
  } else {
    while (at > 0 && stack[at - 1].handle?.length === 4) at--;
  }
  if (at < last) {
    stack.pop();
    stack.splice(at, 0, capture);
  }
}

/**
 * Creates the request's exchange, or returns the one another vigil package already made. Call it
 * first thing in an Express middleware; then continue with `runInExchange(ex, next)` so the rest
 * of the request runs in its context.
 *
 * @example
 * ```ts
 * app.use(function myObserver(req, res, next) {
 *   const ex = observeExpress(req, res);
 *   ex.onEnd((done) => console.log(done.route, done.status, done.outcome));
 *   runInExchange(ex, next);
 * });
 * ```
 */
export function observeExpress(req: IncomingMessage, res: ServerResponse): Exchange {
  return attachExchange('express', req, res, undefined, resolveExpressRoute, setUpAppOnce);
}
