import type { Context, Middleware, Next } from 'koa';
import { observeKoa, continueKoa } from '@vigil/core';
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
    return async function vigilDashboardDisabled(_ctx: Context, next: Next): Promise<void> {
      await next();
    };
  }
  return async function vigilDashboard(ctx: Context, next: Next): Promise<void> {
    // the request's one Exchange (made here when no other vigil package did): it feeds the core's
    // traffic windows, so the page shows traffic even when the dashboard is the only package
    const ex = observeKoa(ctx);
    const sub = engine.match(ctx.url);
    if (sub === undefined) {
      await continueKoa(ex, next);
      return;
    }
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
  };
}
