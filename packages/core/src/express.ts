import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachExchange, findExchange, type ExchangeRecord } from './exchange';
import { hoistVigilRun } from './express-hoist';
import { firstVigilLayer, mergeVigilLayers } from './express-merge';
import { expressRouteTemplate, noteRouterMountedApp, routerOf, unwrapped } from './express-route';
import { responseHeadersSent } from './response';
import { reportError } from './safe-run';
import type { Exchange } from './types';

type Next = (err?: unknown) => void;
type Handler = (req: IncomingMessage, res: ServerResponse, next: Next) => unknown;
type ErrorHandler = (err: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => unknown;

interface ExpressLayerLike {
  /** A middleware, a router (`stack`), a sub-app (`handle` and `set`) or Express's `mounted_app`. */
  handle?: ((...args: never[]) => unknown) & { stack?: ExpressLayerLike[]; handle?: unknown; set?: unknown };
  route?: unknown;
}

interface ExpressRouterLike {
  stack?: ExpressLayerLike[];
}

interface ExpressAppLike {
  parent?: ExpressAppLike;
  use?: (fn: Handler | ErrorHandler) => unknown;
  _router?: ExpressRouterLike;
  router?: ExpressRouterLike;
}

const appsWithErrorCapture = new WeakSet<object>();
const MAX_DEPTH = 32;

function isExpressApp(fn: unknown): fn is ExpressAppLike {
  const app = fn as { handle?: unknown; set?: unknown } | undefined;
  return typeof app?.handle === 'function' && typeof app.set === 'function';
}

/**
 * The route template, or `undefined` (`(unmatched)`) when no route answered: none matched, or
 * every layer of the root app passed the request on to Express's final handler, which answered
 * 404 (see `addRouteEnd`; Express leaves `req.route` naming the last route that matched then).
 * A mark followed by another answer (the app was called with a `next` of its own, by a server or
 * router outside it, that answered) leaves the route as Express left it. Read before the end, the
 * mark alone counts.
 */
function resolveExpressRoute(ex: ExchangeRecord): string | undefined {
  if (ex.passedOn && (!ex.ended || ex.status === 404)) return undefined;
  return expressRouteTemplate(ex.req, ex.path);
}

/**
 * Error-handling layer added once to the root app on its first request: it keeps the error on the
 * exchange, then passes it on unchanged.
 */
function vigilCaptureError(err: unknown, _req: IncomingMessage, res: ServerResponse, next: Next): void {
  findExchange(res)?.recordError(err);
  next(err);
}

/**
 * Setup on an app's first observed request: the error capture layer, the route-end marker, the
 * sub-apps its routers mount (read only, see `noteRouterMounts`), then one layer for each run of
 * adjacent vigil middlewares, and the run that opens the root app's stack, if one does, called
 * from its router's `handle` instead of a layer.
 */
function setUpAppOnce(req: IncomingMessage): void {
  const own = (req as unknown as { app?: ExpressAppLike }).app;
  if (own === undefined) return;
  let app = own;
  while (app.parent !== undefined) app = app.parent;
  if (appsWithErrorCapture.has(app)) return;
  appsWithErrorCapture.add(app);
  addErrorCapture(app);
  addRouteEnd(app);
  noteRouterMounts(app);
  if (own !== app) noteRouterMounts(own);
  // then give each run of adjacent vigil middlewares one layer (see express-merge.ts)
  mergeVigilLayers(routerOf(app));
  if (own !== app) mergeVigilLayers(routerOf(own));
  // and a run that opens the root app's router runs from the router's handle (see express-hoist.ts)
  hoistVigilRun(routerOf(app));
}

/**
 * Appends the route-end marker to a root app's router, once, at the end: a request reaching it was
 * passed on by every layer of the app, and Express's final handler answers it next (404). When no
 * headers were sent by then, the marker notes that on the request's exchange (`passedOn`); it
 * changes nothing of the request's, response's or app's. It is never moved: once the app has added
 * layers after it (routes added after the first request), it is no longer the last layer of the
 * root router and does nothing, as a request reaching it may still be answered by those layers.
 * Appending moves no layer under requests being routed, so the first request is covered too.
 */
function addRouteEnd(app: ExpressAppLike): void {
  if (typeof app.use !== 'function') return;
  let marker: ExpressLayerLike | undefined;
  app.use(function vigilRouteEnd(_req: IncomingMessage, res: ServerResponse, next: Next): void {
    const stack = routerOf(app)?.stack;
    if (marker !== undefined && Array.isArray(stack) && stack[stack.length - 1] === marker && !responseHeadersSent(res)) {
      const ex = findExchange(res);
      if (ex !== undefined) ex.passedOn = true;
    }
    next();
  });
  const stack = routerOf(app)?.stack;
  marker = Array.isArray(stack) ? stack[stack.length - 1] : undefined;
}

/**
 * Notes, for route templates, the sub-apps that an app's routers mount with
 * `router.use(path, subApp)` (such a sub-app has no `parent`; see `noteRouterMountedApp`), through
 * nested routers and those sub-apps' own routers. Reads the stacks only: no layer, handle or stack
 * array is changed. Done on the root app's first observed request: sub-apps mounted later, or
 * inside a sub-app mounted with `app.use()` (whose layer hides it in a closure), are not seen.
 */
function noteRouterMounts(app: ExpressAppLike): void {
  try {
    noteStackMounts(routerOf(app)?.stack, app, new Set(), 0);
  } catch (error) {
    reportError('core.express', error);
  }
}

function noteStackMounts(stack: ExpressLayerLike[] | undefined, app: ExpressAppLike, seen: Set<unknown>, depth: number): void {
  if (!Array.isArray(stack) || seen.has(stack) || depth > MAX_DEPTH) return;
  seen.add(stack);
  for (const layer of stack) {
    const handle = unwrapped(layer.handle) as ExpressLayerLike['handle'];
    if ((layer.route !== undefined && layer.route !== null) || typeof handle !== 'function') continue;
    if (Array.isArray(handle.stack)) noteStackMounts(handle.stack, app, seen, depth + 1);
    else if (isExpressApp(handle)) {
      noteRouterMountedApp(handle, app);
      noteStackMounts(routerOf(handle)?.stack, handle, seen, depth + 1);
    }
  }
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
  const stack = routerOf(app)?.stack;
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
