/**
 * One way for every package to say "this path is left out" (metrics `exclude`, logging
 * `ignorePaths`, tracing `ignorePaths`): a list compiled once, in the factory, into a predicate.
 */
import { reportError } from './safe-run';

/**
 * One entry of a path list: a path string, a RegExp, or a predicate of the path.
 *
 * - A string matches the path exactly, and also with one trailing slash removed and in any letter
 *   case: `'/healthz'` matches `/healthz`, `/healthz/` and `/HealthZ`. That is how Express (non-strict
 *   routing, case-insensitive) and `@koa/router` (default `strict: false`, `sensitive: false`) route
 *   them, so whatever reaches the `/healthz` handler is left out.
 * - A RegExp is tested against the path as received (its flags decide the case); `lastIndex` is
 *   reset first, so `g` and `y` flags are harmless.
 * - A function gets the path as received; `true` leaves the path out. One that throws leaves
 *   nothing out and is reported through the core's error handler.
 *
 * The path never includes the query string.
 *
 * @example
 * ```ts
 * const list: PathMatcher[] = ['/healthz', /^\/static\//, (path) => path.endsWith('.ico')];
 * ```
 */
export type PathMatcher = string | RegExp | ((path: string) => boolean);

/**
 * A compiled path list: `true` when the path (without query) is left out.
 *
 * @example
 * ```ts
 * const skip: PathFilter | undefined = compilePathFilter(['/healthz'], 'myMiddleware ignorePaths');
 * if (skip?.(ex.path)) return;
 * ```
 */
export type PathFilter = (path: string) => boolean;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** The key a string entry and a path are compared by: lower case, one trailing slash removed. */
function foldPath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.charCodeAt(lower.length - 1) === 47 /* / */ ? lower.slice(0, -1) : lower;
}

/**
 * `true` when `foldPath(path)` may differ from `path`: an upper-case ASCII letter, any non-ASCII
 * character (its lower case may differ), or a trailing slash. Reads characters only, allocates nothing.
 */
function needsFolding(path: string): boolean {
  const last = path.length - 1;
  if (last > 0 && path.charCodeAt(last) === 47 /* / */) return true;
  for (let i = 0; i <= last; i++) {
    const c = path.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return true;
  }
  return false;
}

/**
 * Compiles a list of paths, RegExps and predicates into one fast predicate of the path (no query
 * string), or `undefined` when the list is absent or empty (so a middleware can skip the check
 * entirely). Call it once, in a factory: it validates the list and throws a `TypeError` naming
 * `where` for anything else than an array of path strings (starting with `/`, no query string),
 * RegExps and functions.
 *
 * Strings match exactly, and also with one trailing slash removed and case-insensitively, as
 * Express and `@koa/router` route by default (see {@link PathMatcher}); they are looked up in one
 * `Set`, and a path that is already lower case without a trailing slash costs one lookup and a scan
 * of its characters, no allocation. RegExps (their `lastIndex` reset) and predicates get the path
 * as received; a predicate that throws counts as no match and is reported through `reportError`
 * under `errorKind` (default: `where`).
 *
 * @param list the entries (for example an `exclude` or `ignorePaths` option as given by the user)
 * @param where how the option is named in error messages (`expressTracing ignorePaths`)
 * @param errorKind the kind under which a throwing predicate is reported (`tracing.ignorePaths`)
 *
 * @example
 * ```ts
 * import { compilePathFilter } from '@vigil/core';
 * const ignored = compilePathFilter(['/healthz', /^\/static\//, (p) => p.endsWith('.map')], 'myMiddleware ignorePaths');
 * ignored?.('/healthz');        // true
 * ignored?.('/HEALTHZ/');       // true (Express and Koa route it to /healthz)
 * ignored?.('/static/app.js');  // true
 * ignored?.('/users/42');       // false
 * compilePathFilter([], 'myMiddleware ignorePaths'); // undefined: nothing to check
 * ```
 */
export function compilePathFilter(list: readonly PathMatcher[] | undefined, where: string, errorKind: string = where): PathFilter | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) {
    throw new TypeError(`vigil: ${where} must be an array of paths, RegExps or functions (path) => boolean, got ${describe(list)}`);
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  const predicates: Array<(path: string) => boolean> = [];
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (typeof item === 'string' && item.startsWith('/')) {
      if (item.includes('?')) throw new TypeError(`vigil: ${where}[${i}] must be a path without a query string (paths are matched without one), got ${describe(item)}`);
      exact.add(foldPath(item));
    } else if (item instanceof RegExp) patterns.push(item);
    else if (typeof item === 'function') predicates.push(item as (path: string) => boolean);
    else throw new TypeError(`vigil: ${where}[${i}] must be a path starting with "/", a RegExp or a function (path) => boolean, got ${describe(item)}`);
  }
  if (exact.size === 0 && patterns.length === 0 && predicates.length === 0) return undefined;

  const matchesExact =
    exact.size === 0 ? undefined : (path: string): boolean => exact.has(path) || (needsFolding(path) && exact.has(foldPath(path)));
  if (patterns.length === 0 && predicates.length === 0) return matchesExact;

  return function pathFilter(path: string): boolean {
    if (matchesExact !== undefined && matchesExact(path)) return true;
    for (let i = 0; i < patterns.length; i++) {
      const pattern = patterns[i];
      pattern.lastIndex = 0;
      if (pattern.test(path)) return true;
    }
    for (let i = 0; i < predicates.length; i++) {
      try {
        if (predicates[i](path)) return true;
      } catch (error) {
        reportError(errorKind, error);
      }
    }
    return false;
  };
}
