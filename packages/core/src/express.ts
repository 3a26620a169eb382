import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachExchange, findExchange, type ExchangeRecord } from './exchange';
import { firstVigilLayer, isVigilMiddleware, mergeVigilLayers } from './express-merge';
import { expressRouteTemplate, noteMountedApp, noteRouterMountedApp } from './express-route';
import { responseHeadersSent } from './response';
import { reportError } from './safe-run';
import type { Exchange } from './types';

type Next = (err?: unknown) => void;
type Handler = (req: IncomingMessage, res: ServerResponse, next: Next) => unknown;
type ErrorHandler = (err: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => unknown;

interface ExpressLayerLike {
  /** A middleware, a router (`stack`), a sub-app (`handle` and `set`) or Express's `mounted_app`. */
  handle?: ((...args: never[]) => unknown) & { stack?: ExpressLayerLike[]; handle?: unknown; set?: unknown };
  route?: { stack?: ExpressLayerLike[] };
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
/** `mounted_app` layers watched for the sub-app they enter (once each). */
const watchedMounts = new WeakSet<object>();
/** Marks the functions vigil put in an app's routers (shared by every copy of the core). */
const kVigilOwn = Symbol.for('vigil.express.own');
const MAX_DEPTH = 32;

/** Marks `fn` as vigil's own, so that looking an app through again leaves it alone. */
function vigilOwn<F extends object>(fn: F): F {
  Object.defineProperty(fn, kVigilOwn, { value: true });
  return fn;
}

function isVigilOwn(fn: unknown): boolean {
  return (fn as Record<symbol, unknown>)[kVigilOwn] === true || isVigilMiddleware(fn);
}

/** The app's router: Express 4 keeps it in `_router` (its `app.router` getter throws); Express 5 in `router`. */
function routerOf(app: ExpressAppLike): ExpressRouterLike | undefined {
  try {
    return app._router ?? app.router;
  } catch {
    return undefined; // Express 4 app without a route or middleware yet
  }
}

function isExpressApp(fn: unknown): fn is ExpressAppLike {
  const app = fn as { handle?: unknown; set?: unknown } | undefined;
  return typeof app?.handle === 'function' && typeof app.set === 'function';
}

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
vigilOwn(vigilCaptureError);

/**
 * Setup on an app's first observed request: the error capture layer, the route-end marker, a look
 * through the app's routers (see `prepareApp`), then one layer for each run of adjacent vigil
 * middlewares.
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
  prepareApp(app);
  if (own !== app) prepareApp(own);
  // then give each run of adjacent vigil middlewares one layer (see express-merge.ts)
  mergeVigilLayers(routerOf(app));
  if (own !== app) mergeVigilLayers(routerOf(own));
}

/**
 * Forgets the route of a request that every route passed on with `next()`: Express leaves
 * `req.route` naming the last route that matched, which did not answer. A route that sent its
 * answer and then called `next()` keeps it.
 */
function forgetPassedRoute(req: IncomingMessage, res: ServerResponse): void {
  const r = req as unknown as { route?: unknown };
  if (r.route !== undefined && !responseHeadersSent(res)) r.route = undefined;
}

/**
 * Adds the route-end marker at the end of a root app's router: reached only by requests that every
 * layer passed on, which Express's final handler answers next (404), it forgets their route.
 * Appending moves no layer under requests being routed, so the first request is covered too. When
 * the app added layers after it (routes added after the first request), the marker moves back to
 * the end, in a new stack array (requests being routed keep theirs), and the app is looked through
 * again: requests those routes answer then never pass it.
 */
function addRouteEnd(app: ExpressAppLike): void {
  if (typeof app.use !== 'function') return;
  let marker: ExpressLayerLike | undefined;
  app.use(
    vigilOwn(function vigilRouteEnd(req: IncomingMessage, res: ServerResponse, next: Next): void {
      forgetPassedRoute(req, res);
      const router = routerOf(app);
      const stack = router?.stack;
      if (router !== undefined && Array.isArray(stack) && stack[stack.length - 1] !== marker) {
        const at = stack.indexOf(marker as ExpressLayerLike);
        if (at >= 0) {
          router.stack = [...stack.slice(0, at), ...stack.slice(at + 1), marker as ExpressLayerLike];
          prepareApp(app);
        }
      }
      next();
    }),
  );
  const stack = routerOf(app)?.stack;
  marker = stack?.[stack.length - 1];
}

/**
 * An error handler of the app's that first keeps the error it is given on the exchange: errors
 * answered by an error handler of a router, route or sub-app never reach the root capture layer.
 * Express calls a four-parameter handler only with an error: requests without one never run this.
 */
function keepingErrors(handle: ErrorHandler): ErrorHandler {
  return vigilOwn(function vigilKeepError(this: unknown, err: unknown, req: IncomingMessage, res: ServerResponse, next: Next): unknown {
    findExchange(res)?.recordError(err);
    return handle.call(this, err, req, res, next);
  });
}

/**
 * A middleware of the app's placed after every route of its router: a request reaching it was
 * passed on by any route that matched it (a 404 catch-all after such a route answers as no route).
 */
function afterRoutes(handle: Handler): Handler {
  return vigilOwn(function vigilAfterRoutes(this: unknown, req: IncomingMessage, res: ServerResponse, next: Next): unknown {
    forgetPassedRoute(req, res);
    return handle.call(this, req, res, next);
  });
}

function keepErrors(layer: ExpressLayerLike): void {
  const handle = layer.handle;
  if (typeof handle === 'function' && handle.length === 4 && !isVigilOwn(handle)) layer.handle = keepingErrors(handle as unknown as ErrorHandler);
}

/**
 * Looks through an app's router, its routes, nested routers and sub-apps mounted with
 * `router.use(path, subApp)`, changing no stack array: each error handler keeps its error (see
 * `keepingErrors`), the middlewares after the last route of each router forget a route that passed
 * the request on (see `afterRoutes`), and each `app.use(path, subApp)` layer learns its sub-app on
 * the first request through it (see `watchMount`), which is then looked through the same way.
 * Only handlers are wrapped, in place: no layer moves under requests being routed, and requests
 * that a route answers run nothing more. Done on the app's first request and when the app added
 * layers since (see `addRouteEnd`); what routers and sub-apps add later is not seen.
 */
function prepareApp(app: ExpressAppLike): void {
  try {
    prepareStack(routerOf(app)?.stack, app, new Set(), 0);
  } catch (error) {
    reportError('core.express', error);
  }
}

function prepareStack(stack: ExpressLayerLike[] | undefined, app: ExpressAppLike, seen: Set<unknown>, depth: number): void {
  if (!Array.isArray(stack) || seen.has(stack) || depth > MAX_DEPTH) return;
  seen.add(stack);
  let lastRoute = -1;
  for (let i = 0; i < stack.length; i++) {
    const layer = stack[i];
    const handle = layer.handle;
    if (layer.route !== undefined && layer.route !== null) {
      lastRoute = i;
      for (const step of layer.route.stack ?? []) keepErrors(step);
    } else if (typeof handle !== 'function') continue;
    else if (handle.length === 4) keepErrors(layer);
    else if (Array.isArray(handle.stack)) {
      lastRoute = i;
      prepareStack(handle.stack, app, seen, depth + 1);
    } else if (isExpressApp(handle)) {
      lastRoute = i;
      noteRouterMountedApp(handle, app);
      prepareStack(routerOf(handle)?.stack, handle, seen, depth + 1);
    } else if (handle.name === 'mounted_app') {
      lastRoute = i;
      watchMount(layer, app);
    }
  }
  if (lastRoute < 0) return; // no route: nothing to forget
  for (let i = lastRoute + 1; i < stack.length; i++) {
    const handle = stack[i].handle;
    if (typeof handle === 'function' && handle.length <= 3 && !isVigilOwn(handle)) stack[i].handle = afterRoutes(handle as unknown as Handler);
  }
}

/**
 * Learns which sub-app an `app.use(path, subApp)` layer enters (Express keeps it in a closure), on
 * the first request through the layer, before any layer of the sub-app runs, so that its error
 * handlers keep that request's error too. Express 5's `app.handle` and Express 4's `expressInit`
 * both read `res.locals` right after giving `req` and `res` the sub-app's prototypes: for that one
 * call a getter stands in for `res.locals`, reads the sub-app off the response's new prototype and
 * puts the property back as it was.
 */
function watchMount(layer: ExpressLayerLike, outer: ExpressAppLike): void {
  if (watchedMounts.has(layer)) return;
  watchedMounts.add(layer);
  const mount = layer.handle as unknown as Handler;
  // named as Express names it: express-route.ts knows mount layers by that name
  layer.handle = function mounted_app(req: IncomingMessage, res: ServerResponse, next: Next): unknown {
    layer.handle = mount as ExpressLayerLike['handle'];
    const locals = Object.getOwnPropertyDescriptor(res, 'locals');
    if (locals?.configurable !== true || !('value' in locals)) return mount(req, res, next);
    let pending = true;
    const restore = (value: unknown): void => {
      if (!pending) return;
      pending = false;
      Object.defineProperty(res, 'locals', { ...locals, value });
    };
    Object.defineProperty(res, 'locals', {
      configurable: true,
      enumerable: locals.enumerable,
      get(): unknown {
        restore(locals.value);
        const sub = (Object.getPrototypeOf(res) as { app?: unknown } | null)?.app;
        if (sub !== outer && isExpressApp(sub)) {
          noteMountedApp(layer, sub);
          prepareApp(sub);
        }
        return locals.value;
      },
      set(value: unknown): void {
        restore(value);
      },
    });
    try {
      return mount(req, res, next);
    } finally {
      restore(locals.value);
    }
  } as ExpressLayerLike['handle'];
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
 * app's answer errors that never reach the root: those keep them themselves (see `prepareApp`).
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
