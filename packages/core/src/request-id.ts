import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestIdOptions } from './types';

const MAX_REQUEST_ID_LENGTH = 128;
const PLAIN_REQUEST_ID = /^[A-Za-z0-9._:-]+$/;

/**
 * `true` when an incoming request id may be reused: at most 128 characters of `[A-Za-z0-9._:-]`.
 * Anything else (newlines, escapes, spaces, 10 KB strings) is replaced by a generated id.
 *
 * @example
 * ```ts
 * isValidRequestId('abc-123'); // true
 * isValidRequestId('a\nb');    // false
 * ```
 */
export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_REQUEST_ID_LENGTH && PLAIN_REQUEST_ID.test(value);
}

const processPrefix = randomBytes(6).toString('hex');
let counter = 0;

/**
 * Generates a request id unique within the process and very likely across processes: a random
 * per-process prefix and a counter (`3f9a1c2b7d10-1k`). Cheaper than a UUID per request.
 *
 * @example
 * ```ts
 * const id = generateRequestId(); // '3f9a1c2b7d10-1'
 * ```
 */
export function generateRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${processPrefix}-${counter.toString(36)}`;
}

/** The request id policy in force (normalised once by `configureRequestId`). */
export interface RequestIdPolicy {
  header: string;
  echo: boolean;
  generate: (req: IncomingMessage) => string;
}

export const requestIdPolicy: RequestIdPolicy = {
  header: 'x-request-id',
  echo: true,
  generate: generateRequestId,
};

/**
 * Sets the process-wide request id policy: which header is read and echoed, and how ids are
 * generated. Throws a `TypeError` for a bad header name or generator.
 *
 * @example
 * ```ts
 * configureRequestId({ header: 'x-correlation-id', generate: () => crypto.randomUUID() });
 * ```
 */
export function configureRequestId(options: RequestIdOptions): void {
  if (options.header !== undefined) {
    if (typeof options.header !== 'string' || !/^[A-Za-z0-9-]+$/.test(options.header)) {
      throw new TypeError(`vigil: request id header must be a plain header name, got ${JSON.stringify(options.header)}`);
    }
    requestIdPolicy.header = options.header.toLowerCase();
  }
  if (options.echo !== undefined) requestIdPolicy.echo = Boolean(options.echo);
  if (options.generate !== undefined) {
    if (typeof options.generate !== 'function') throw new TypeError('vigil: request id generate must be a function');
    const user = options.generate;
    requestIdPolicy.generate = (req) => {
      try {
        const id = user(req);
        return isValidRequestId(id) ? id : generateRequestId();
      } catch {
        return generateRequestId();
      }
    };
  }
}

/**
 * The response header that carries the request id (`x-request-id` unless `configureRequestId`
 * changed it), for a package that replaces the id after the core has echoed it.
 *
 * @example
 * ```ts
 * configureRequestId({ header: 'x-correlation-id' });
 * requestIdHeader(); // 'x-correlation-id'
 * ```
 */
export function requestIdHeader(): string {
  return requestIdPolicy.header;
}

/** Resets the policy to its defaults (for tests). */
export function resetRequestIdPolicy(): void {
  requestIdPolicy.header = 'x-request-id';
  requestIdPolicy.echo = true;
  requestIdPolicy.generate = generateRequestId;
}
