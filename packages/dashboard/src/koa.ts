import type { Context, Middleware, Next } from 'koa';
import { observeKoa, continueKoa, type Exchange } from '@vigil/core';
import { DashboardEngine } from './dashboard';
import type { DashboardOptions } from './types';

/**
 * Koa middleware serving the live dashboard at `options.path` (default `/_vigil`), the same page as
 * `expressDashboard`. Off when `NODE_ENV=production` unless `enabled: true`; every other request
 * goes on to `next()` untouched. `authorize(req, ctx)` receives the Koa context second.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { koaDashboard } from '@vigil/dashboard';
 *
 * const app = new Koa();
 * app.use(koaDashboard({ authorize: (_req, ctx) => (ctx as Koa.Context).ip === '127.0.0.1' }));
 * app.listen(3000); // open http://127.0.0.1:3000/_vigil
 * ```
 */
export function koaDashboard(options: DashboardOptions = {}): Middleware {
  const engine = new DashboardEngine(options);
  if (!engine.enabled) {
    return function vigilDashboardDisabled(_ctx: Context, next: Next): Promise<unknown> {
      return next();
    };
  }
  async function serve(ctx: Context, ex: Exchange, sub: string): Promise<void> {
    ex.quiet = true; // out of access logs, traces and the windows
    if (!(await engine.authorize(ctx.req, ctx))) {
      ctx.status = 403;
      ctx.set('cache-control', 'no-store');
      ctx.body = 'Forbidden';
      return;
    }
    const reply = engine.reply(sub, ctx.method, engine.path === '/' ? '' : engine.path, ctx.get('if-none-match') || undefined);
    if (reply === undefined) {
      ctx.respond = false;
      engine.openStream(ctx.req, ctx.res);
      return;
    }
    ctx.status = reply.status;
    ctx.set(reply.headers);
    if (reply.status !== 304) ctx.body = reply.body;
  }
  // not async: requests for the app pass through with the chain's own promise, no wrapper
  return function vigilDashboard(ctx: Context, next: Next): Promise<unknown> {
    // the request's one Exchange (made here when no other vigil package did): it feeds the core's
    // traffic windows, so the page shows traffic even when the dashboard is the only package
    const ex = observeKoa(ctx);
    const sub = engine.match(ctx.req.url ?? '/');
    if (sub === undefined) return continueKoa(ex, next);
    return serve(ctx, ex, sub);
  };
}
