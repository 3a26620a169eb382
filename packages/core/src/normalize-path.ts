const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER = /^\d+$/;
const HEX = /^(?:0x)?[0-9a-f]+$/i;
const HAS_DIGIT = /\d/;
const TOKEN = /^[A-Za-z0-9_\-.~+=]+$/;

/** Longest path kept before it is cut (a hostile, endless URL still gives a short label). */
const MAX_PATH_LENGTH = 256;
/** Most segments kept; deeper paths end in `/…`. */
const MAX_SEGMENTS = 12;

function isIdSegment(segment: string): boolean {
  if (NUMBER.test(segment)) return true;
  if (segment.length === 36 && UUID.test(segment)) return true;
  // hex ids (object ids, hashes): at least 8 characters and at least one digit, so words stay
  if (segment.length >= 8 && HEX.test(segment) && HAS_DIGIT.test(segment)) return true;
  // long opaque tokens (base64url, random ids): 16+ characters mixing letters and digits
  if (segment.length >= 16 && TOKEN.test(segment) && HAS_DIGIT.test(segment)) return true;
  return false;
}

/**
 * Turns a raw URL path into a low-cardinality label: the query string is dropped, numbers, UUIDs,
 * hex ids and long tokens become `:id`, empty segments collapse, and very long or deep paths are cut.
 * Used where no router template is known.
 *
 * @example
 * ```ts
 * normalizePath('/users/42/orders/9f1c2e3a-0b4d-4e5f-8a9b-0c1d2e3f4a5b?x=1'); // '/users/:id/orders/:id'
 * normalizePath('/static/app.js');                                           // '/static/app.js'
 * ```
 */
export function normalizePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) return '/';
  let p = path;
  const q = p.indexOf('?');
  if (q !== -1) p = p.slice(0, q);
  const hash = p.indexOf('#');
  if (hash !== -1) p = p.slice(0, hash);
  let cut = false;
  if (p.length > MAX_PATH_LENGTH) {
    p = p.slice(0, MAX_PATH_LENGTH);
    cut = true;
  }
  const parts = p.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const segment = parts[i];
    if (segment === '') continue;
    if (out.length === MAX_SEGMENTS) {
      cut = true;
      break;
    }
    out.push(isIdSegment(segment) ? ':id' : segment);
  }
  const joined = '/' + out.join('/');
  return cut ? (joined === '/' ? '/…' : joined + '/…') : joined;
}
