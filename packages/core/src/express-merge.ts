/**
 * One Express layer for a run of vigil middlewares. Every layer costs Express its own round of
 * `next()`, path matching, parameter processing and prefix trimming on the request (whose hidden
 * class Express changes on every request), so five vigil packages mounted one after the other cost
 * five times that. On an app's first observed request, each run of vigil middlewares mounted at
 * the root one after the other, with nothing of the app's own between them, is replaced by one
 * layer that calls them in the same order.
 *
 * The router's stack is replaced by a new array, never changed in place: a request being routed
 * keeps the array it started with (the router reads `this.stack` once per request), so requests
 * in flight see no layer move under them. Only middlewares mounted without a path on the same
 * router are merged, and never across a middleware of the app's, so what runs before what is
 * unchanged (an auth middleware between two vigil packages still guards the second).
 */

/** The mark a vigil package puts on its Express middleware (shared by every copy of the core). */
const kMergeable = Symbol.for('vigil.express.mergeable');

type ExpressNext = (err?: unknown) => void;
type ExpressHandler = (req: unknown, res: unknown, next: ExpressNext) => unknown;

export interface LayerLike {
  handle?: unknown;
  name?: string;
  route?: unknown;
  /** Express 5 (router 2): mounted at '/' with `end: false`, i.e. `app.use(fn)`. */
  slash?: boolean;
  /** Express 4: the compiled mount pattern; `fast_slash` for `app.use(fn)`. */
  regexp?: { fast_slash?: boolean };
}

interface RouterLike {
  stack?: LayerLike[];
}

/**
 * Marks an Express middleware of a vigil package as one that may share a layer with the vigil
 * middlewares mounted right before or after it. The middleware must behave as any middleware:
 * call `next()` (or `next(err)`) to continue, or answer the request.
 *
 * @example
 * ```ts
 * export function expressThing(): RequestHandler {
 *   return mergeableExpressMiddleware(function vigilThing(req, res, next) {
 *     observeExpress(req, res);
 *     next();
 *   });
 * }
 * ```
 */
export function mergeableExpressMiddleware<F extends (...args: never[]) => unknown>(fn: F): F {
  Object.defineProperty(fn, kMergeable, { value: true });
  return fn;
}

/**
 * Index of the first root-mounted vigil middleware in a router's stack, or -1.
 *
 * @example
 * ```ts
 * const at = firstVigilLayer(app.router.stack);
 * ```
 */
export function firstVigilLayer(stack: LayerLike[]): number {
  return stack.findIndex(isMergeable);
}

function isMergeable(layer: LayerLike): boolean {
  if (layer.route !== undefined || typeof layer.handle !== 'function') return false;
  if ((layer.handle as unknown as Record<symbol, unknown>)[kMergeable] !== true) return false;
  // a three-argument middleware mounted at the root of this router
  return (layer.handle as { length: number }).length <= 3 && (layer.slash === true || layer.regexp?.fast_slash === true);
}

/**
 * Passes a middleware's rejected promise to `next`, as Express 5's router does for a layer's
 * handler (a rejection with no reason becomes an `Error('Rejected promise')`).
 *
 * @example
 * ```ts
 * forwardRejection(handler(req, res, next), next);
 * ```
 */
export function forwardRejection(result: unknown, next: ExpressNext): void {
  if (result !== undefined && result !== null && typeof (result as { then?: unknown }).then === 'function') {
    (result as Promise<unknown>).then(undefined, (error: unknown) => next(error || new Error('Rejected promise')));
  }
}

/** One handler calling `handles` in order, each continuing to the next, the last to Express. */
function chain(handles: ExpressHandler[]): ExpressHandler {
  const n = handles.length;
  return function vigil(req: unknown, res: unknown, next: ExpressNext): void {
    let i = 0;
    const step = (err?: unknown): void => {
      // as the router does for a middleware: 'route' and falsy values continue, anything else
      // (an error, 'router') goes on to Express
      if (err && err !== 'route') next(err);
      else if (i < n) {
        forwardRejection(handles[i++](req, res, step), next);
      } else next();
    };
    step();
  };
}

/** The layers this module made for merged runs. */
const mergedLayers = new WeakSet<LayerLike>();

/**
 * A copy of `layer` (same prototype, same matcher, so the router treats it as it treated `layer`)
 * that calls `handle`.
 *
 * @example
 * ```ts
 * const passOn = layerWith(app.router.stack[0], (req, res, next) => next());
 * ```
 */
export function layerWith(layer: LayerLike, handle: ExpressHandler): LayerLike {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(layer) as object) as LayerLike, layer);
  copy.handle = handle;
  copy.name = 'vigil';
  return copy;
}

/**
 * Whether a router layer is a vigil run: a vigil middleware mounted without a path, or the layer
 * made for a merged run of them.
 *
 * @example
 * ```ts
 * if (isVigilRunLayer(app.router.stack[0])) console.log('vigil runs first');
 * ```
 */
export function isVigilRunLayer(layer: LayerLike): boolean {
  return mergedLayers.has(layer) || isMergeable(layer);
}

/**
 * The stack with each run of two or more adjacent mergeable layers replaced by one layer, or
 * `undefined` when there is no such run.
 */
export function mergedStack(stack: LayerLike[]): LayerLike[] | undefined {
  const out: LayerLike[] = [];
  let changed = false;
  for (let i = 0; i < stack.length; ) {
    let end = i;
    while (end < stack.length && isMergeable(stack[end])) end++;
    if (end - i >= 2) {
      const merged = layerWith(stack[i], chain(stack.slice(i, end).map((layer) => layer.handle as ExpressHandler)));
      mergedLayers.add(merged);
      out.push(merged);
      changed = true;
      i = end;
    } else {
      out.push(stack[i]);
      i++;
    }
  }
  return changed ? out : undefined;
}

/**
 * Merges the runs of vigil middlewares in an Express router (the app's own router, `app.router`
 * in Express 5, `app._router` in Express 4) by giving it a new stack. Returns whether it did.
 */
export function mergeVigilLayers(router: RouterLike | undefined): boolean {
  const stack = router?.stack;
  if (router === undefined || !Array.isArray(stack)) return false;
  const merged = mergedStack(stack);
  if (merged === undefined) return false;
  router.stack = merged;
  return true;
}
