import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { context } from '@opentelemetry/api';
import { mergeableExpressMiddleware, observeExpress, runInExchange } from '@vigil/core';
import { enterServerSpan, serverTracingConfig } from './server-span';
import type { ServerTracingOptions } from './types';

/**
 * Express middleware: one SERVER span per request, continuing the caller's trace, named by route
 * template at the end (`GET /users/:id`), with the stable HTTP attributes, ERROR status and an
 * exception event for 5xx and thrown errors (not 4xx), and the `traceresponse` header. Sets
 * `ex.traceId`, `ex.spanId`, `ex.traceFlags` and `ex.span` on the shared exchange. Call
 * `setupTracing()` first; the order among other vigil middlewares does not matter.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { setupTracing, expressTracing } from '@vigil/tracing';
 *
 * setupTracing({ serviceName: 'orders' });
 * const app = express();
 * app.use(expressTracing({ ignorePaths: ['/healthz'] }));
 * app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
 * ```
 */
export function expressTracing(options?: ServerTracingOptions): (req: Request, res: Response, next: NextFunction) => void {
  const config = serverTracingConfig(options, 'expressTracing');
  return mergeableExpressMiddleware(function vigilExpressTracing(req: Request, res: Response, next: NextFunction): void {
    const ex = observeExpress(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    const ctx = enterServerSpan(ex, config);
    if (ctx === undefined) runInExchange(ex, next);
    else context.with(ctx, next);
  });
}
