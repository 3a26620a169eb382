import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachExchange, type ExchangeRecord } from './exchange';
import { normalizePath } from './normalize-path';
import type { Exchange } from './types';

function normalizedPathRoute(ex: ExchangeRecord): string {
  return normalizePath(ex.path);
}

/**
 * Creates (or returns) the exchange for a plain `node:http` request. With no router, the route is
 * the normalised path (`/users/:id` from `/users/42`); guard it with a `CardinalityGuard` if you
 * label anything with it.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   const ex = observeNode(req, res);
 *   runInExchange(ex, () => res.end('ok'));
 * });
 * ```
 */
export function observeNode(req: IncomingMessage, res: ServerResponse): Exchange {
  return attachExchange('node', req, res, undefined, normalizedPathRoute);
}
