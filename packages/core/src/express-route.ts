/**
 * Full route templates for Express 5 (router 2.x) and Express 4, read from the app's router stack
 * without patching anything: the chain of mount layers from the app's router down to the route
 * that answered (`req.route`), cached per route object.
 */

interface RouterLayer {
  route?: unknown;
  handle?: { stack?: RouterLayer[]; name?: string };
  /** Express 5: the registration pattern. */
  rawPath?: string | RegExp | Array<string | RegExp>;
  /** Express 5: matches a path, returning the pattern that matched. */
  match?: (path: string) => false | { path: string; pattern: unknown };
  /** Express 4: the compiled pattern and its keys. */
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  keys?: Array<{ name: string | number }>;
}

interface RouteObject {
  path: string | RegExp | Array<string | RegExp>;
}

interface ExpressApp {
  router?: { stack?: RouterLayer[] };
  _router?: { stack?: RouterLayer[] };
  parent?: ExpressApp;
  mountpath?: string | string[];
}

interface ChainInfo {
  /** The template when it does not depend on the request (the usual case). */
  fixed: string | undefined;
  /** Every chain of layers from the app router down to the route layer. */
  chains: RouterLayer[][];
}

const MAX_DEPTH = 32;
const chainCache = new WeakMap<object, ChainInfo>();
const prefixCache = new WeakMap<object, string>();
const express4Patterns = new WeakMap<object, string>();

function joinPath(prefix: string, part: string): string {
  if (part === '' || part === '/') return prefix;
  const head = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return head + (part.startsWith('/') ? part : '/' + part);
}

function patternText(pattern: unknown): string {
  if (typeof pattern === 'string') return pattern;
  if (pattern instanceof RegExp) return String(pattern);
  if (Array.isArray(pattern)) return pattern.map(patternText).join('|');
  return String(pattern);
}

/** Express 4 keeps no source path on mount layers: rebuild it from the compiled regexp and keys. */
function express4MountPattern(layer: RouterLayer): string {
  const cached = express4Patterns.get(layer);
  if (cached !== undefined) return cached;
  let text = '';
  const re = layer.regexp;
  if (re !== undefined && !re.fast_slash) {
    let keyIndex = 0;
    const keys = layer.keys ?? [];
    text = re.source
      .replace(/^\^/, '')
      .replace(/\\\/\?\(\?=\\\/\|\$\)$/, '')
      .replace(/\\\/\?\$$/, '')
      // path-to-regexp 0.1.x compiles `/:name` to `(?:\/([^/]+?))` (0.1.12) or `\/(?:([^\/]+?))` (older)
      .replace(/\(\?:\\\/\(\[\^\/\]\+\?\)\)|\(\?:\(\[\^\\\/\]\+\?\)\)/g, (m) => `${m.startsWith('(?:\\/') ? '/' : ''}:${keys[keyIndex++]?.name ?? 'param'}`)
      .replace(/\\\//g, '/');
  }
  express4Patterns.set(layer, text);
  return text;
}

function layerPattern(layer: RouterLayer, isRouteLayer: boolean): string | RegExp | Array<string | RegExp> {
  if (isRouteLayer) return (layer.route as RouteObject).path;
  if (layer.rawPath !== undefined) return layer.rawPath;
  return express4MountPattern(layer);
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
    const pattern = layerPattern(chain[i], i === chain.length - 1);
    if (typeof pattern !== 'string') {
      if (pattern instanceof RegExp) template = joinPath(template, String(pattern));
      else return undefined; // an array path: which entry matched depends on the request
    } else template = joinPath(template, pattern);
  }
  return template === '' ? '/' : template;
}

function chainInfo(app: ExpressApp, route: object): ChainInfo {
  let info = chainCache.get(route);
  if (info !== undefined) return info;
  // Express 4 keeps the router in `_router` (its `app.router` getter throws); Express 5 in `router`
  const stack = (app._router ?? app.router)?.stack ?? [];
  const chains: RouterLayer[][] = [];
  findChains(stack, route, [], chains, new Set());
  const fixed = chains.length === 1 ? fixedTemplate(chains[0]) : undefined;
  info = { fixed, chains };
  chainCache.set(route, info);
  return info;
}

/** Mount prefix of a sub-app (`app.use('/shop', shop)` gives `/shop` for `shop`). */
function appPrefix(app: ExpressApp): string {
  if (app.parent === undefined) return '';
  const cached = prefixCache.get(app);
  if (cached !== undefined) return cached;
  const mount = Array.isArray(app.mountpath) ? app.mountpath[0] : app.mountpath;
  const prefix = joinPath(appPrefix(app.parent), mount ?? '');
  prefixCache.set(app, prefix);
  return prefix;
}

/** Matches a chain against the request path (Express 5 layers), giving the template or undefined. */
function matchChain(chain: RouterLayer[], path: string): string | undefined {
  let remaining = path;
  let template = '';
  for (const layer of chain) {
    if (typeof layer.match !== 'function') return undefined;
    const m = layer.match(remaining);
    if (m === false) return undefined;
    template = joinPath(template, patternText(m.pattern));
    remaining = remaining.slice(m.path.length);
    if (remaining === '' || remaining[0] !== '/') remaining = '/' + remaining;
  }
  return template === '' ? '/' : template;
}

/**
 * The full template of the Express route that answered, or `undefined` when no route did.
 * `path` is the request path, used only when the template depends on it (array paths, a router
 * mounted at several places).
 */
export function expressRouteTemplate(req: unknown, path: string): string | undefined {
  const r = req as { route?: object; app?: ExpressApp };
  const route = r.route;
  const app = r.app;
  if (route === undefined || route === null || app === undefined) return undefined;
  const info = chainInfo(app, route);
  const prefix = appPrefix(app);
  if (info.fixed !== undefined) return joinPath(prefix, info.fixed) || '/';
  if (info.chains.length === 0) return joinPath(prefix, patternText((route as RouteObject).path)) || '/';
  const relative = prefix === '' ? path : path.slice(prefix.length) || '/';
  for (const chain of info.chains) {
    const template = matchChain(chain, relative);
    if (template !== undefined) return joinPath(prefix, template) || '/';
  }
  const fallback = info.chains[0].map((layer, i, all) => patternText(layerPattern(layer, i === all.length - 1))).reduce(joinPath, '');
  return joinPath(prefix, fallback) || '/';
}
