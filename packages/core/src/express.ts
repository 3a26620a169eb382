import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachExchange, existingExchange, type ExchangeRecord } from './exchange';
import { expressRouteTemplate } from './express-route';
import type { Exchange } from './types';

interface ExpressAppLike {
  parent?: ExpressAppLike;
  use?: (fn: (err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void) => unknown;
}

const appsWithErrorCapture = new WeakSet<object>();

function resolveExpressRoute(ex: ExchangeRecord): string | undefined {
  return expressRouteTemplate(ex.req, ex.path);
}

/**
 * Error-handling layer added once, at the end of the root app's stack on its first request: it
 * keeps the error that reached the end of the chain on the exchange, then passes it on unchanged.
 */
function vigilCaptureError(err: unknown, _req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  existingExchange(res)?.recordError(err);
  next(err);
}

function ensureErrorCapture(req: IncomingMessage): void {
  let app = (req as unknown as { app?: ExpressAppLike }).app;
  if (app === undefined) return;
  while (app.parent !== undefined) app = app.parent;
  if (appsWithErrorCapture.has(app)) return;
  appsWithErrorCapture.add(app);
  if (typeof app.use === 'function') app.use(vigilCaptureError);
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
  const existing = existingExchange(res);
  if (existing !== undefined) return existing;
  const ex = attachExchange('express', req, res, undefined, resolveExpressRoute);
  ensureErrorCapture(req);
  return ex;
}
