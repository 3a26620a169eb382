/**
 * Full route templates for Express 5 (router 2.x) and Express 4, read from the app's router stack
 * without patching anything: the chain of mount layers from the app's router down to the route
 * that answered (`req.route`), cached per app and route object. Where the template depends on the
 * request (array paths, a sub-app or router mounted at several paths), the request path is matched
 * against the same layers Express used; entries of an array path are never joined. A sub-app's
 * mount template comes from the layers that mount it in the app around it: its `parent`
 * (`app.use(path, subApp)`, whose layer hides the sub-app in a closure and is known by the
 * sub-app's `mountpath`, the last one it was mounted at), or the app whose routers mount it with
 * `router.use(path, subApp)` (no `parent` then; express.ts notes that app, read-only, on the root
 * app's first request, see `noteRouterMountedApp`).
 */

import { compileExpress4Alternatives, type Express4Alternative } from './express4-pattern';

type PathPattern = string | RegExp | Array<string | RegExp>;

interface RouterLayer {
  route?: unknown;
  handle?: { stack?: RouterLayer[]; name?: string };
  /** Express 5: the registration pattern. */
  rawPath?: PathPattern;
  /** Express 5: matches a path, returning the pattern that matched (Express 4: a boolean). */
  match?: (path: string) => unknown;
  /** Express 4: the compiled pattern and its keys. */
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  keys?: Array<{ name: string | number }>;
}

interface RouteObject {
  path: PathPattern;
}

interface ExpressApp {
  router?: { stack?: RouterLayer[] };
  _router?: { stack?: RouterLayer[] };
  parent?: ExpressApp;
  mountpath?: PathPattern;
}

interface ChainInfo {
  /** The app whose router stack was searched. */
  app: object;
  /** The full template when it does not depend on the request (the usual case). */
  template: string | undefined;
  /** The template below the app's mount path when it does not depend on the request. */
  fixed: string | undefined;
  /** Every chain of layers from the app router down to the route layer. */
  chains: RouterLayer[][];
}

/** What one layer matched: the part of the path it consumed and the one pattern entry that matched. */
interface LayerMatch {
  consumed: string;
  pattern: string;
}

/** The mount template of an app and the request path left for its router (unknown if no layer matched). */
interface MountMatch {
  template: string;
  rest: string | undefined;
}

const MAX_DEPTH = 32;
/** Chains per route object, for the app that first answered with it (the usual single owner). */
const chainCache = new WeakMap<object, ChainInfo>();
/** Chains of routes reached from more than one app (a router shared by apps), per app then route. */
const sharedChainCache = new WeakMap<object, WeakMap<object, ChainInfo>>();
const express4Cache = new WeakMap<object, Express4Alternative[]>();
/** The chains of layers mounting a sub-app in the app around it, per sub-app. */
const mountChainCache = new WeakMap<object, { outer: object; chains: RouterLayer[][] }>();
/** The app whose routers mount a sub-app with `router.use(path, subApp)`. */
const routerMountOwner = new WeakMap<object, ExpressApp>();

/**
 * Notes that the routers of `owner` mount `app` with `router.use(path, app)`: such a sub-app has
 * no `parent`, and its templates take the prefixes of the layers from `owner` down to that mount.
 * The first owner seen is kept. Called on the root app's first observed request, before that
 * request is routed: no template of a route reached through `owner` was built before, so no
 * cached template has to be built again.
 *
 * @example
 * ```ts
 * noteRouterMountedApp(shop, app); // api.use('/shop', shop); app.use('/api', api)
 * ```
 */
export function noteRouterMountedApp(app: object, owner: object): void {
  if (!routerMountOwner.has(app)) routerMountOwner.set(app, owner as ExpressApp);
}

/**
 * The function an instrumentation wrapped, or `fn` itself: shimmer (which OpenTelemetry's
 * instrumentations use) keeps the original as `__original` on its wrapper. OpenTelemetry's express
 * instrumentation wraps every layer's handle, a sub-app's and a router's too; the sub-app a
 * request enters is the original.
 *
 * @example
 * ```ts
 * unwrapped(layer.handle) === subApp; // also when an instrumentation wrapped the layer
 * ```
 */
export function unwrapped<T>(fn: T): T {
  let current: unknown = fn;
  for (let depth = 0; depth < 8 && typeof current === 'function'; depth++) {
    const original = (current as { __original?: unknown }).__original;
    if (typeof original !== 'function') break;
    current = original;
  }
  return current as T;
}

function joinPath(prefix: string, part: string): string {
  if (part === '' || part === '/') return prefix;
  const head = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return head + (part.startsWith('/') ? part : '/' + part);
}

/** The entries of a path pattern (Express flattens nested arrays the same way). */
function entries(pattern: unknown): unknown[] {
  return Array.isArray(pattern) ? pattern.flat(Infinity) : [pattern];
}

/** Template text of a pattern; of an array path, its first entry. */
function patternText(pattern: unknown): string {
  const first = Array.isArray(pattern) ? entries(pattern)[0] : pattern;
  if (typeof first === 'string') return first;
  return first === undefined ? '' : String(first);
}

/**
 * An app's router: Express 4 keeps it in `_router` (its `app.router` getter throws, also while an
 * app has no route or middleware yet); Express 5 in `router`. `undefined` when there is none yet.
 *
 * @example
 * ```ts
 * const stack = routerOf(app)?.stack ?? [];
 * ```
 */
export function routerOf<R>(app: { _router?: R; router?: R }): R | undefined {
  try {
    return app._router ?? app.router;
  } catch {
    return undefined;
  }
}

function routerStack(app: ExpressApp): RouterLayer[] {
  return routerOf(app)?.stack ?? [];
}

function express4Alternatives(layer: RouterLayer, isRoute: boolean): Express4Alternative[] {
  let alternatives = express4Cache.get(layer);
  if (alternatives === undefined) {
    const own = isRoute ? entries((layer.route as RouteObject).path).map(patternText) : undefined;
    alternatives = compileExpress4Alternatives(layer.regexp as NonNullable<RouterLayer['regexp']>, layer.keys ?? [], own);
    express4Cache.set(layer, alternatives);
  }
  return alternatives;
}

/** The registration pattern of a layer; an array when it depends on the request. */
function layerPattern(layer: RouterLayer, isRouteLayer: boolean): PathPattern {
  if (isRouteLayer) return (layer.route as RouteObject).path;
  if (layer.rawPath !== undefined) return layer.rawPath;
  const alternatives = express4Alternatives(layer, false);
  return alternatives.length === 1 ? alternatives[0].text : alternatives.map((a) => a.text);
}

function matchExpress5(layer: RouterLayer, path: string): LayerMatch | undefined {
  const m = (layer.match as (path: string) => unknown)(path) as { path?: unknown; pattern?: unknown } | false;
  if (typeof m !== 'object' || m === null || typeof m.path !== 'string') return undefined;
  return { consumed: m.path, pattern: patternText(m.pattern) };
}

function matchExpress4(layer: RouterLayer, isRoute: boolean, path: string): LayerMatch | undefined {
  for (const alternative of express4Alternatives(layer, isRoute)) {
    const m = alternative.regexp.exec(path);
    if (m !== null) return { consumed: m[0], pattern: alternative.text };
  }
  return undefined;
}

/**
 * Matches a layer against a path as Express did, without touching the layer's state (Express 4's
 * own `match` stores the result on the layer, so its regexp is used instead).
 */
function matchLayer(layer: RouterLayer, isRoute: boolean, path: string): LayerMatch | undefined {
  if (layer.rawPath !== undefined && typeof layer.match === 'function') return matchExpress5(layer, path);
  if (layer.regexp !== undefined) return matchExpress4(layer, isRoute, path);
  return undefined;
}

/** The path left after a layer consumed the start of it, starting with `/` as Express leaves `req.url`. */
function remainder(path: string, consumed: string): string {
  const rest = path.slice(consumed.length);
  return rest === '' || rest[0] !== '/' ? '/' + rest : rest;
}

/** Collects the chains of layers, through nested routers, from `stack` down to each layer that `isTarget`. */
function findChains(stack: RouterLayer[], isTarget: (layer: RouterLayer) => boolean, path: RouterLayer[], out: RouterLayer[][], seen: Set<unknown>): void {
  if (path.length > MAX_DEPTH) return;
  for (const layer of stack) {
    if (isTarget(layer)) {
      out.push([...path, layer]);
      continue;
    }
    const inner = layer.handle?.stack;
    if (layer.route === undefined && Array.isArray(inner) && !seen.has(inner)) {
      seen.add(inner);
      path.push(layer);
      findChains(inner, isTarget, path, out, seen);
      path.pop();
      seen.delete(inner);
    }
  }
}

/** The template of a chain when each layer has one path; the last layer is a route's when `toRoute`. */
function fixedTemplate(chain: RouterLayer[], toRoute: boolean): string | undefined {
  let template = '';
  for (let i = 0; i < chain.length; i++) {
    const all = entries(layerPattern(chain[i], toRoute && i === chain.length - 1));
    if (all.length !== 1) return undefined; // which entry matched depends on the request
    template = joinPath(template, patternText(all[0]));
  }
  return template === '' ? '/' : template;
}

/** The app a sub-app is mounted in: its `parent`, else the app whose routers mount it. */
function outerApp(app: ExpressApp): ExpressApp | undefined {
  return app.parent ?? routerMountOwner.get(app);
}

/**
 * The chains of layers from the outer app's router down to each layer mounting `app`: the layers
 * of `app.use(path, app)` and of `router.use(path, app)`, in stack order. Found once per sub-app
 * and outer app.
 */
function mountChains(outer: ExpressApp, app: ExpressApp): RouterLayer[][] {
  let mounts = mountChainCache.get(app);
  if (mounts === undefined || mounts.outer !== outer) {
    const chains: RouterLayer[][] = [];
    findChains(routerStack(outer), (layer) => unwrapped(layer.handle) === app || isMountOf(layer, app), [], chains, new Set());
    mounts = { outer, chains };
    mountChainCache.set(app, mounts);
  }
  return mounts.chains;
}

/**
 * Mount template of an app when it is mounted once and every mount on the way has one path
 * (`app.use('/shop', shop)`, `api.use('/shop', shop)`).
 */
function fixedPrefix(app: ExpressApp, depth: number): string | undefined {
  const outer = outerApp(app);
  if (outer === undefined) return '';
  if (depth > MAX_DEPTH) return undefined;
  const chains = mountChains(outer, app);
  if (chains.length > 1) return undefined;
  let own: string | undefined;
  if (app.parent !== undefined) {
    // the app's own mount path (also when no layer of the parent was recognised as its mount)
    const mounts = entries(app.mountpath ?? '/');
    own = mounts.length === 1 ? patternText(mounts[0]) : undefined;
  } else if (chains.length === 1) own = fixedTemplate(chains[0], false);
  const prefix = own === undefined ? undefined : fixedPrefix(outer, depth + 1);
  return prefix === undefined || own === undefined ? undefined : joinPath(prefix, own);
}

/** Finds the chains of a route in an app's router and what of its template is fixed. */
function buildChainInfo(app: ExpressApp, route: object): ChainInfo {
  const chains: RouterLayer[][] = [];
  findChains(routerStack(app), (layer) => layer.route === route, [], chains, new Set());
  const fixed = chains.length === 0 ? patternText((route as RouteObject).path) : chains.length === 1 ? fixedTemplate(chains[0], true) : undefined;
  const prefix = fixedPrefix(app, 0);
  const template = fixed !== undefined && prefix !== undefined ? joinPath(prefix, fixed) || '/' : undefined;
  return { app, template, fixed, chains };
}

/** Chains of a route for an app other than the first one answering with it (a shared router). */
function sharedChainInfo(app: ExpressApp, route: object): ChainInfo {
  let byRoute = sharedChainCache.get(app);
  if (byRoute === undefined) {
    byRoute = new WeakMap();
    sharedChainCache.set(app, byRoute);
  }
  let info = byRoute.get(route);
  if (info === undefined) {
    info = buildChainInfo(app, route);
    byRoute.set(route, info);
  }
  return info;
}

/** The chains of a route in an app: one lookup for a route answered from one app only. */
function chainInfo(app: ExpressApp, route: object): ChainInfo {
  const info = chainCache.get(route);
  if (info !== undefined && info.app === app) return info;
  if (info !== undefined) return sharedChainInfo(app, route);
  const built = buildChainInfo(app, route);
  chainCache.set(route, built);
  return built;
}

/** Whether a mount layer's path entry is the sub-app's mount path entry (Express 4: rebuilt text). */
function sameEntry(own: unknown, mount: unknown): boolean {
  if (own === mount) return true;
  return typeof own === 'string' && own.replace(/\/+$/, '') === patternText(mount).replace(/\/+$/, '');
}

/**
 * Whether `layer` is the one Express added to the parent's router for `app.use(path, app)`: a
 * `mounted_app` layer with the sub-app's mount path. Express keeps only the last mount path of a
 * sub-app mounted by several `app.use()` calls, so only the layer of that last call is found.
 */
function isMountOf(layer: RouterLayer, app: ExpressApp): boolean {
  if (unwrapped(layer.handle)?.name !== 'mounted_app') return false;
  if (layer.regexp !== undefined && layer.regexp === app.mountpath) return true;
  const mounts = entries(app.mountpath ?? '/');
  const own = layer.rawPath !== undefined ? entries(layer.rawPath) : express4Alternatives(layer, false).map((a) => a.text);
  return own.length === mounts.length && own.every((entry, i) => sameEntry(entry, mounts[i]));
}

/** Matches a chain of layers against a path as Express did: the template and the path left, or undefined. */
function matchChain(chain: RouterLayer[], path: string, toRoute: boolean): MountMatch | undefined {
  let rest = path;
  let template = '';
  for (let i = 0; i < chain.length; i++) {
    const m = matchLayer(chain[i], toRoute && i === chain.length - 1, rest);
    if (m === undefined) return undefined;
    template = joinPath(template, m.pattern);
    rest = remainder(rest, m.consumed);
  }
  return { template, rest };
}

/** The template of a chain from the first entry of each layer, for a path no chain matches. */
function firstEntryTemplate(chain: RouterLayer[], toRoute: boolean): string {
  return chain.map((layer, i) => patternText(layerPattern(layer, toRoute && i === chain.length - 1))).reduce(joinPath, '');
}

/**
 * The mount template of a sub-app, read by matching the request path with the layers mounting each
 * app from the root down (a sub-app mounted at several or parametric paths); when none matches, the
 * first mount path, with the rest of the path unknown.
 */
function mountMatch(app: ExpressApp, path: string, depth: number): MountMatch {
  const outer = outerApp(app);
  if (outer === undefined) return { template: '', rest: path };
  const up = depth > MAX_DEPTH ? { template: '', rest: undefined } : mountMatch(outer, path, depth + 1);
  const chains = mountChains(outer, app);
  if (up.rest !== undefined) {
    for (const chain of chains) {
      const m = matchChain(chain, up.rest, false);
      if (m !== undefined) return { template: joinPath(up.template, m.template), rest: m.rest };
    }
  }
  const first = app.parent !== undefined || chains.length === 0 ? patternText(app.mountpath ?? '/') : firstEntryTemplate(chains[0], false);
  return { template: joinPath(up.template, first), rest: undefined };
}

/** The template when it depends on the request: the mount path taken, then the chain that matches. */
function requestTemplate(app: ExpressApp, info: ChainInfo, path: string): string {
  const mount = mountMatch(app, path, 0);
  if (info.fixed !== undefined) return joinPath(mount.template, info.fixed) || '/';
  let below: string | undefined;
  for (const chain of info.chains) {
    below = mount.rest === undefined ? undefined : matchChain(chain, mount.rest, true)?.template;
    if (below !== undefined) break;
  }
  return joinPath(mount.template, below ?? firstEntryTemplate(info.chains[0], true)) || '/';
}

/**
 * The full template of the Express route that answered, or `undefined` when no route did.
 * `path` is the request path, used only when the template depends on it (array paths, a sub-app or
 * router mounted at several places).
 */
export function expressRouteTemplate(req: unknown, path: string): string | undefined {
  const r = req as { route?: object; app?: ExpressApp };
  const route = r.route;
  const app = r.app;
  if (route === undefined || route === null || app === undefined) return undefined;
  const info = chainInfo(app, route);
  return info.template ?? requestTemplate(app, info, path);
}
