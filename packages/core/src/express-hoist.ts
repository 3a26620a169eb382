/**
 * A run of vigil middlewares that opens an app's router runs from the router's `handle` instead of
 * from a layer. A layer costs Express a round of its router's `next()` per request (path match,
 * match result, parameter processing, prefix trimming, the handler's `try`, and `next()` entered
 * again with the pathname parsed again): about 3 % of a bare Express 5 request's CPU time, as
 * much as the metrics package's own work. When the vigil run is the very first layer of the
 * router, every request the router handles reaches it first, in the same tick: calling it from the
 * router's `handle`, just before the router walks the rest of the stack, runs the same code in the
 * same order for the same requests, without the round.
 *
 * What a layer gives its handler is kept: `req.baseUrl`, `req.originalUrl`, `req.params` and
 * `req.next` are set as the router sets them for a layer (user hooks that vigil calls in the run
 * read them); `next()` and `next('route')` go on to the rest of the stack, `next(err)`, a throw and
 * a rejected promise go to the app's error handlers as the router would route them (from the layer
 * that followed the run), `next('router')` leaves the router, and a second call goes on with the
 * router's walk. Not kept: the run is no longer a layer of `app.router.stack`, and the router's
 * `express.router.request` diagnostics channel (router 2.3) reports no layer for it.
 */

import { forwardRejection, isVigilRunLayer, layerWith, type LayerLike } from './express-merge';

type Next = (err?: unknown) => void;
type Handler = (req: unknown, res: unknown, next: Next) => unknown;
type RouterHandle = (this: HoistableRouter, req: unknown, res: unknown, out: Next) => unknown;

/** The fields Express's router sets on a request before a layer's handler runs. */
interface RoutedRequest {
  url?: string;
  baseUrl?: string;
  originalUrl?: string;
  params?: unknown;
  next?: Next;
}

interface HoistableRouter {
  stack?: LayerLike[];
  handle?: RouterHandle;
}

/**
 * The router of a request that `next(err)` left in the vigil run: the same router (its params,
 * options and `handle`), walking a stack whose first layer passes the error on, so the error meets
 * the rest of the stack as it would have after the run's layer. Made only when that happens.
 */
function resumeWithError(router: HoistableRouter, handle: RouterHandle, runLayer: LayerLike, err: unknown, req: unknown, res: unknown, out: Next): void {
  const view = Object.create(router as object) as HoistableRouter;
  view.stack = [layerWith(runLayer, (_req, _res, next) => next(err)), ...(router.stack ?? [])];
  handle.call(view, req, res, out);
}

/**
 * Takes the vigil run that opens the router's stack out of it and calls it from the router's
 * `handle`, before the router walks what remains. Only a router whose `handle` is its class's own
 * (nobody has wrapped it on the instance) and whose first layer is a vigil run (a mergeable vigil
 * middleware or a merged run of them, mounted without a path). The stack is replaced by a new
 * array: requests being routed keep the one they started with. Returns whether it did.
 *
 * @example
 * ```ts
 * mergeVigilLayers(app.router);
 * hoistVigilRun(app.router); // app.router.stack[0] was vigil's: it now runs from app.router.handle
 * ```
 */
export function hoistVigilRun(router: HoistableRouter | undefined): boolean {
  const stack = router?.stack;
  if (router === undefined || !Array.isArray(stack) || stack.length === 0 || !isVigilRunLayer(stack[0])) return false;
  const handle = router.handle;
  if (typeof handle !== 'function' || Object.prototype.hasOwnProperty.call(router, 'handle')) return false;
  const runLayer = stack[0];
  const run = runLayer.handle as Handler;
  router.stack = stack.slice(1);
  const owner = router;
  const hoisted = function vigilRouterHandle(this: HoistableRouter | undefined, req: unknown, res: unknown, out: Next): void {
    // Express calls it as router.handle(); a caller that detached it still gets its router
    const self = this ?? owner;
    const r = req as RoutedRequest;
    // what the router sets before a layer's handler runs, which user hooks called in the run may read
    const parentParams = r.params;
    const parentNext = r.next;
    r.baseUrl = r.baseUrl || '';
    r.originalUrl = r.originalUrl || r.url;
    r.params = {};
    let handedOn = false;
    const next: Next = (err) => {
      if (handedOn) {
        // called again (after a throw past next(), say): the router's walk goes on from where it
        // is, as it does for a layer's handler that calls next twice
        const walking = r.next;
        if (typeof walking === 'function' && walking !== next) walking(err);
        return;
      }
      handedOn = true;
      r.params = parentParams;
      r.next = parentNext;
      if (!err || err === 'route') handle.call(self, req, res, out);
      else if (err === 'router') setImmediate(out, null);
      else resumeWithError(self, handle, runLayer, err, req, res, out);
    };
    r.next = next;
    let result: unknown;
    try {
      result = run(req, res, next);
    } catch (error) {
      next(error);
      return;
    }
    forwardRejection(result, next);
  };
  router.handle = hoisted;
  return true;
}
