/**
 * Express 4 keeps no source path on its layers, only a compiled regexp (path-to-regexp 0.1.x) and
 * its keys: the template text and one regexp per entry of an array path are rebuilt from them.
 */

/** One alternative of an Express 4 compiled pattern (an array path compiles to `^a|^b`) and its text. */
export interface Express4Alternative {
  regexp: RegExp;
  text: string;
}

/** Splits a regexp source at its top-level `|`. */
function topLevelAlternatives(source: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(source.slice(start, i));
      start = i + 1;
    }
  }
  out.push(source.slice(start));
  return out;
}

/**
 * Express 4 keeps no source path on mount layers: rebuilds it from one alternative of the compiled
 * regexp, naming parameters from `keys` starting at `keyIndex`.
 */
function express4SourceText(source: string, keys: Array<{ name: string | number }>, keyIndex: number): { text: string; next: number } {
  let next = keyIndex;
  const text = source
    .replace(/^\^/, '')
    .replace(/\\\/\?\(\?=\\\/\|\$\)$/, '')
    .replace(/\\\/\?\$$/, '')
    // path-to-regexp 0.1.x compiles `/:name` to `(?:\/([^/]+?))` (0.1.12) or `\/(?:([^\/]+?))` (older)
    .replace(/\(\?:\\\/\(\[\^\/\]\+\?\)\)|\(\?:\(\[\^\\\/\]\+\?\)\)/g, (m) => `${m.startsWith('(?:\\/') ? '/' : ''}:${keys[next++]?.name ?? 'param'}`)
    .replace(/\\(.)/g, '$1');
  return { text, next };
}

/**
 * The alternatives of an Express 4 layer's compiled pattern, each with its template text: the
 * route's own path entries (`own`) where it has them, else rebuilt from the regexp and `keys`.
 *
 * @example
 * ```ts
 * compileExpress4Alternatives(layer.regexp, layer.keys, undefined); // [{ regexp, text: '/orgs/:orgId' }]
 * ```
 */
export function compileExpress4Alternatives(regexp: RegExp & { fast_slash?: boolean }, keys: Array<{ name: string | number }>, own: string[] | undefined): Express4Alternative[] {
  if (regexp.fast_slash) return [{ regexp, text: '' }];
  if (own?.length === 1) return [{ regexp, text: own[0] }];
  const sources = topLevelAlternatives(regexp.source);
  const flags = regexp.flags.replace(/[gy]/g, '');
  if (own !== undefined) {
    if (sources.length !== own.length) return [{ regexp, text: own[0] }];
    return sources.map((source, i) => ({ regexp: new RegExp(source, flags), text: own[i] }));
  }
  let keyIndex = 0;
  return sources.map((source) => {
    const rebuilt = express4SourceText(source, keys, keyIndex);
    keyIndex = rebuilt.next;
    return { regexp: sources.length === 1 ? regexp : new RegExp(source, flags), text: rebuilt.text };
  });
}
