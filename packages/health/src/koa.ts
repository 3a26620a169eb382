import type { Context, Middleware, Next } from 'koa';
import { observeKoa, setExchangeRoute } from '@vigil/core';
import { ProbeRouter, type ProbeMatch } from './probe-router';
import type { Health, HealthEndpointOptions } from './types';

/**
 * Koa middleware serving the probes: `/health` (IETF `application/health+json`), `/readiness`,
 * `/liveness`, `/readyz`, `/livez`, `/startupz`, `/readyz/<check>`, with `?exclude=` and
 * `?verbose`, GET and HEAD, `Cache-Control: no-store`. Other requests go on to `next()`. Probe
 * requests are counted by metrics but kept out of logs and traces.
 *
 * @example
 * ```ts
 * const health = createHealth({ service: 'orders' });
 * health.register('cache', tcpCheck('127.0.0.1', 6379), { critical: false, intervalMs: 5000 });
 * app.use(koaHealth(health, { canSeeDetails: (ctx) => ctx.get('x-ops-token') === process.env.OPS_TOKEN }));
 * ```
 */
export function koaHealth(health: Health, options?: HealthEndpointOptions<Context>): Middleware {
  const router = new ProbeRouter<Context>(health, options, 'koa');
  const quiet = router.settings.quiet;
  async function serveProbe(ctx: Context, match: ProbeMatch): Promise<void> {
    const ex = observeKoa(ctx);
    if (quiet) ex.quiet = true;
    setExchangeRoute(ex, match.route);
    const answer = await router.answer(match, ctx.querystring, router.detailsFor(ctx));
    ctx.status = answer.status;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Type', answer.contentType);
    ctx.body = answer.body;
  }
  // not async: requests for the app pass through with the chain's own promise, no wrapper; the
  // method and path come from the request itself, not through Koa's delegating getters
  return function vigilHealth(ctx: Context, next: Next): Promise<unknown> {
    const req = ctx.req;
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return next();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const match = router.match(q === -1 ? url : url.slice(0, q));
    if (match === undefined) return next();
    return serveProbe(ctx, match);
  };
}
