import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { mergeableExpressMiddleware, observeExpress, reportError, continueExpress } from '@vigil/core';
import { writeAnswer } from './endpoint';
import { setupMiddleware } from './middleware-setup';
import type { MiddlewareOptions } from './types';

/**
 * Express middleware: records every request that passes through it (RED metrics by route
 * template, through the core Exchange) and serves `GET /metrics` (OpenMetrics when asked, gzip
 * when accepted). Mount it first. Bad options throw a `TypeError` here, not per request.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { expressMetrics } from '@vigil/metrics';
 * const app = express();
 * app.use(expressMetrics({ exclude: ['/healthz'], bearerToken: process.env.METRICS_TOKEN }));
 * app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
 * ```
 */
export function expressMetrics(options?: MiddlewareOptions): RequestHandler {
  const { engine, endpoint, isEndpoint, isExcluded } = setupMiddleware(options);
  return mergeableExpressMiddleware(function vigilExpressMetrics(req: Request, res: Response, next: NextFunction): void {
    const url = req.url;
    if (isEndpoint(url)) {
      endpoint.answer(req).then(
        (answer) => writeAnswer(req, res, answer),
        (error: unknown) => {
          reportError('metrics.endpoint', error);
          if (!res.headersSent) res.status(500).end();
        },
      );
      return;
    }
    if (isExcluded !== undefined && isExcluded(url)) {
      next();
      return;
    }
    const ex = observeExpress(req, res);
    engine.observe(ex);
    continueExpress(ex, next);
  });
}
