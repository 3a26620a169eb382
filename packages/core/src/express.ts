import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachExchange, findExchange, type ExchangeRecord } from './exchange';
import { mergeVigilLayers } from './express-merge';
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
 * Places the capture layer before the app's trailing error handlers (so an app that answers
 * errors itself still has them recorded), or at the end when there are none. Only the trailing
 * run is considered: it lies after every ordinary layer, so the layer running now keeps its index.
 * This changes the stack the first request is being routed on, so that its error is kept too: a
 * request that never passed a vigil layer and is inside an asynchronous trailing error handler at
 * that moment would meet that handler again when it calls `next(err)`.
 */
function addErrorCapture(app: ExpressAppLike): void {
  if (typeof app.use !== 'function') return;
  app.use(vigilCaptureError);
  // Express 4 keeps the router in `_router` (its `app.router` getter throws); Express 5 in `router`
  const stack = (app._router ?? app.router)?.stack;
  if (!Array.isArray(stack) || stack.length < 2) return;
  const capture = stack[stack.length - 1];
  let at = stack.length - 1;
  while (at > 0 && stack[at - 1].handle?.length === 4) at--;
  if (at < stack.length - 1) {
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
