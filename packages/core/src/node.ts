import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachExchange, existingExchange } from './exchange';
import { normalizePath } from './normalize-path';
import type { Exchange } from './types';

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
  return existingExchange(res) ?? attachExchange('node', req, res, undefined, (ex) => normalizePath(ex.path));
}
