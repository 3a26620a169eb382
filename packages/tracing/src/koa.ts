import type { Context as KoaContext, Next } from 'koa';
import { context } from '@opentelemetry/api';
import { observeKoa, runKoaDownstream } from '@vigil/core';
import { enterServerSpan, serverTracingConfig } from './server-span';
import type { ServerTracingOptions } from './types';

/**
 * Koa middleware: one SERVER span per request, continuing the caller's trace, named by the
 * `@koa/router` template at the end (`GET /users/:id`), with the stable HTTP attributes, ERROR
 * status and an exception event for 5xx and thrown errors (not 4xx), and the `traceresponse`
 * header. Errors thrown downstream are recorded and rethrown unchanged. Call `setupTracing()` first.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import { setupTracing, koaTracing } from '@vigil/tracing';
 *
 * setupTracing({ serviceName: 'orders' });
 * const app = new Koa();
 * const router = new Router();
 * router.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id }; });
 * app.use(koaTracing({ ignorePaths: ['/healthz'] }));
 * app.use(router.routes());
 * ```
 */
export function koaTracing(options?: ServerTracingOptions): (ctx: KoaContext, next: Next) => Promise<unknown> {
  const config = serverTracingConfig(options, 'koaTracing');
  // not async: the chain's own promise is returned, with no wrapper promise per request
  return function vigilKoaTracing(ctx: KoaContext, next: Next): Promise<unknown> {
    const ex = observeKoa(ctx);
    const otelCtx = enterServerSpan(ex, config);
    if (otelCtx === undefined) return runKoaDownstream(ex, next);
    // inside the span's context the exchange is current too (EXCHANGE_KEY), so this enters nothing more
    return context.with(otelCtx, runKoaDownstream, undefined, ex, next);
  };
}
