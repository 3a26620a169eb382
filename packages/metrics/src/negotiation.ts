/**
 * Content negotiation of the metrics endpoint: OpenMetrics or the text format from `Accept`, gzip
 * from `Accept-Encoding`, both by quality values.
 */

/** The entries of an `Accept` or `Accept-Encoding` header, lower-cased, each with its quality. */
function qualities(header: string): Array<{ name: string; q: number }> {
  const entries: Array<{ name: string; q: number }> = [];
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName.trim().toLowerCase();
    if (name === '') continue;
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq !== -1 && param.slice(0, eq).trim().toLowerCase() === 'q') {
        const parsed = Number(param.slice(eq + 1).trim());
        q = Number.isFinite(parsed) ? parsed : 0;
      }
    }
    entries.push({ name, q });
  }
  return entries;
}

/**
 * Does the `Accept` header ask for OpenMetrics: listed with a non-zero quality, at least as high
 * as any other type it lists (a scraper that prefers the text format gets the text format)?
 *
 * @example
 * ```ts
 * wantsOpenMetrics('application/openmetrics-text;version=1.0.0,text/plain;q=0.5'); // true
 * wantsOpenMetrics('application/openmetrics-text;q=0, text/plain'); // false
 * ```
 */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let wanted = 0;
  let other = 0;
  for (const { name, q } of qualities(accept)) {
    if (name === 'application/openmetrics-text') wanted = Math.max(wanted, q);
    else other = Math.max(other, q);
  }
  return wanted > 0 && wanted >= other;
}

/**
 * Does an `Accept-Encoding` header accept gzip: `gzip` (or `*` when gzip is not named) listed
 * with a non-zero quality?
 *
 * @example
 * ```ts
 * acceptsGzip('gzip, deflate'); // true
 * acceptsGzip('gzip;q=0, identity'); // false
 * ```
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  let gzip: number | undefined;
  let star: number | undefined;
  for (const { name, q } of qualities(header)) {
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (name === '*') star = q;
  }
  return (gzip ?? star ?? 0) > 0;
}
