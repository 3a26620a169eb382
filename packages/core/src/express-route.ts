/**
 * Full route templates for Express 5 (router 2.x) and Express 4, read from the app's router stack
 * without patching anything: the chain of mount layers from the app's router down to the route
 * that answered (`req.route`), cached per app and route object. Where the template depends on the
 * request (array paths, a sub-app or router mounted at several paths), the request path is matched
 * against the same layers Express used; entries of an array path are never joined.
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
const mountLayerCache = new WeakMap<object, { parent: object; layers: RouterLayer[] }>();

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

function routerStack(app: ExpressApp): RouterLayer[] {
  // Express 4 keeps the router in `_router` (its `app.router` getter throws); Express 5 in `router`
  return (app._router ?? app.router)?.stack ?? [];
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

function findChains(stack: RouterLayer[], route: unknown, path: RouterLayer[], out: RouterLayer[][], seen: Set<unknown>): void {
  if (path.length > MAX_DEPTH) return;
  for (const layer of stack) {
    if (layer.route === route) {
      out.push([...path, layer]);
      continue;
    }
    const inner = layer.handle?.stack;
    if (layer.route === undefined && Array.isArray(inner) && !seen.has(inner)) {
      seen.add(inner);
      path.push(layer);
      findChains(inner, route, path, out, seen);
      path.pop();
      seen.delete(inner);
    }
  }
}

function fixedTemplate(chain: RouterLayer[]): string | undefined {
  let template = '';
  for (let i = 0; i < chain.length; i++) {
    const all = entries(layerPattern(chain[i], i === chain.length - 1));
    if (all.length !== 1) return undefined; // which entry matched depends on the request
    template = joinPath(template, patternText(all[0]));
  }
  return template === '' ? '/' : template;
}

/** Mount template of an app when every mount on the way has one path (`app.use('/shop', shop)`). */
function fixedPrefix(app: ExpressApp, depth: number): string | undefined {
  if (app.parent === undefined) return '';
  const mounts = entries(app.mountpath ?? '/');
  if (mounts.length !== 1 || depth > MAX_DEPTH) return undefined;
  const outer = fixedPrefix(app.parent, depth + 1);
  return outer === undefined ? undefined : joinPath(outer, patternText(mounts[0]));
}

/** Finds the chains of a route in an app's router and what of its template is fixed. */
function buildChainInfo(app: ExpressApp, route: object): ChainInfo {
  const chains: RouterLayer[][] = [];
  findChains(routerStack(app), route, [], chains, new Set());
  const fixed = chains.length === 0 ? patternText((route as RouteObject).path) : chains.length === 1 ? fixedTemplate(chains[0]) : undefined;
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

/** Whether `layer` is the one Express added to the parent's router for `app.use(path, app)`. */
function isMountOf(layer: RouterLayer, app: ExpressApp): boolean {
  if (layer.handle?.name !== 'mounted_app') return false;
  if (layer.regexp !== undefined && layer.regexp === app.mountpath) return true;
  const mounts = entries(app.mountpath ?? '/');
  const own = layer.rawPath !== undefined ? entries(layer.rawPath) : express4Alternatives(layer, false).map((a) => a.text);
  return own.length === mounts.length && own.every((entry, i) => sameEntry(entry, mounts[i]));
}

/** The layers of the parent's router that mount `app`, found once per sub-app and parent. */
function mountLayers(parent: ExpressApp, app: ExpressApp): RouterLayer[] {
  let mounts = mountLayerCache.get(app);
  if (mounts === undefined || mounts.parent !== parent) {
    mounts = { parent, layers: routerStack(parent).filter((layer) => isMountOf(layer, app)) };
    mountLayerCache.set(app, mounts);
  }
  return mounts.layers;
}

/** Matches the path with the parent's mount layers for `app`, in stack order. */
function matchMount(parent: ExpressApp, app: ExpressApp, path: string): LayerMatch | undefined {
  for (const layer of mountLayers(parent, app)) {
    const m = matchLayer(layer, false, path);
    if (m !== undefined) return m;
  }
  return undefined;
}

/**
 * The mount template of a sub-app, read by matching the request path with the mount layers of each
 * parent from the root down (a sub-app mounted at several or parametric paths); when no layer
 * matches, the first mount path, with the rest of the path unknown.
 */
function mountMatch(app: ExpressApp, path: string, depth: number): MountMatch {
  const parent = app.parent;
  if (parent === undefined) return { template: '', rest: path };
  const outer = depth > MAX_DEPTH ? { template: '', rest: undefined } : mountMatch(parent, path, depth + 1);
  const m = outer.rest === undefined ? undefined : matchMount(parent, app, outer.rest);
  if (m === undefined || outer.rest === undefined) return { template: joinPath(outer.template, patternText(app.mountpath ?? '/')), rest: undefined };
  return { template: joinPath(outer.template, m.pattern), rest: remainder(outer.rest, m.consumed) };
}

/** Matches a chain against the path below the app's mount, giving the template or undefined. */
function matchChain(chain: RouterLayer[], path: string): string | undefined {
  let rest = path;
  let template = '';
  for (let i = 0; i < chain.length; i++) {
    const m = matchLayer(chain[i], i === chain.length - 1, rest);
    if (m === undefined) return undefined;
    template = joinPath(template, m.pattern);
    rest = remainder(rest, m.consumed);
  }
  return template === '' ? '/' : template;
}

/** The template of a chain from the first entry of each layer, for a path no chain matches. */
function firstEntryTemplate(chain: RouterLayer[]): string {
  return chain.map((layer, i) => patternText(layerPattern(layer, i === chain.length - 1))).reduce(joinPath, '');
}

/** The template when it depends on the request: the mount path taken, then the chain that matches. */
function requestTemplate(app: ExpressApp, info: ChainInfo, path: string): string {
  const mount = mountMatch(app, path, 0);
  if (info.fixed !== undefined) return joinPath(mount.template, info.fixed) || '/';
  let below: string | undefined;
  for (const chain of info.chains) {
    below = mount.rest === undefined ? undefined : matchChain(chain, mount.rest);
    if (below !== undefined) break;
  }
  return joinPath(mount.template, below ?? firstEntryTemplate(info.chains[0])) || '/';
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
