import type { Context, Middleware, Next } from 'koa';
import { observeKoa, continueKoa } from '@vigil/core';
import { setupMiddleware } from './middleware-setup';
import type { MiddlewareOptions } from './types';

/**
 * Koa middleware: records every request that passes through it (RED metrics by `@koa/router`
 * template, through the core Exchange; a thrown error counts as 500) and serves `GET /metrics`.
 * Mount it first. Bad options throw a `TypeError` here, not per request.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import { koaMetrics } from '@vigil/metrics';
 * const app = new Koa();
 * const router = new Router();
 * router.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id }; });
 * app.use(koaMetrics()).use(router.routes());
 * ```
 */
export function koaMetrics(options?: MiddlewareOptions): Middleware {
  const { engine, endpoint, isEndpoint, isExcluded } = setupMiddleware(options);
  async function serveEndpoint(ctx: Context): Promise<void> {
    const answer = await endpoint.answer(ctx.req);
    ctx.status = answer.status;
    ctx.set(answer.headers);
    ctx.body = answer.body;
  }
  // not async: a request that is only observed gets the chain's own promise back, no wrapper
  return function vigilKoaMetrics(ctx: Context, next: Next): Promise<unknown> {
    const url = ctx.req.url ?? '/';
    if (isEndpoint(url)) return serveEndpoint(ctx);
    if (isExcluded !== undefined && isExcluded(url)) return next();
    const ex = observeKoa(ctx);
    engine.observe(ex);
    return continueKoa(ex, next);
  };
}
