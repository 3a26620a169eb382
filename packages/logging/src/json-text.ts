/**
 * Small helpers for writing JSON text by hand on the access-log hot path, with the same output as
 * `JSON.stringify` for strings.
 */

/**
 * A string as a JSON string literal. Short strings without quotes, backslashes, control
 * characters or lone surrogates (nearly every route, path and id) are wrapped as they are;
 * anything else goes through `JSON.stringify`, which escapes it.
 *
 * @example
 * ```ts
 * quote('/users/:id'); // '"/users/:id"'
 * quote('a\nb');       // '"a\\nb"'
 * ```
 */
export function quote(text: string): string {
  const n = text.length;
  if (n > 256) return JSON.stringify(text);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

let cachedSecond = -1;
let cachedPrefix = '';

/**
 * ISO 8601 text of an epoch time in milliseconds (`2026-11-25T10:00:00.123Z`), formatting the
 * date part once per second.
 *
 * @example
 * ```ts
 * isoTime(Date.UTC(2026, 10, 25, 10, 0, 0, 123)); // '2026-11-25T10:00:00.123Z'
 * ```
 */
export function isoTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    if (iso.length !== 24) return new Date(ms).toISOString(); // years outside 0000-9999
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 20);
  }
  const frac = ms - second * 1000;
  return `${cachedPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}
