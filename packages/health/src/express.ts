import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { mergeableExpressMiddleware, observeExpress, setExchangeRoute } from '@vigil/core';
import { ProbeRouter, type ProbeAnswer } from './probe-router';
import type { Health, HealthEndpointOptions } from './types';

function send(res: Response, head: boolean, answer: ProbeAnswer): void {
  if (res.headersSent) return;
  res.statusCode = answer.status;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', answer.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  if (head) res.end();
  else res.end(answer.body);
}

/**
 * Express middleware (use it like a Router) serving the probes: `/health` (IETF
 * `application/health+json`), `/readiness`, `/liveness`, `/readyz`, `/livez`, `/startupz`,
 * `/readyz/<check>`, with `?exclude=` and `?verbose`, GET and HEAD, `Cache-Control: no-store`.
 * Other requests pass through. Probe requests are counted by metrics but kept out of logs and
 * traces. Needs no express import at run time.
 *
 * @example
 * ```ts
 * const health = createHealth({ service: 'orders', version: '1.4.2' });
 * health.register('database', async (signal) => { await pool.query('SELECT 1', { signal }); });
 * app.use(expressHealth(health, { canSeeDetails: (req) => req.ip === '127.0.0.1' }));
 * ```
 */
export function expressHealth(health: Health, options?: HealthEndpointOptions<Request>): RequestHandler {
  const router = new ProbeRouter<Request>(health, options, 'express');
  const quiet = router.settings.quiet;
  return mergeableExpressMiddleware(function vigilHealth(req: Request, res: Response, next: NextFunction): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return next();
    const url = req.url;
    const q = url.indexOf('?');
    const match = router.match(q === -1 ? url : url.slice(0, q));
    if (match === undefined) return next();
    const ex = observeExpress(req, res);
    if (quiet) ex.quiet = true;
    setExchangeRoute(ex, req.baseUrl + match.route);
    const details = router.detailsFor(req);
    router.answer(match, q === -1 ? '' : url.slice(q + 1), details).then((answer) => send(res, method === 'HEAD', answer), next);
  });
}
