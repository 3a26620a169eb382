import type { IncomingMessage, ServerResponse } from 'node:http';
import { runInExchange } from './context';
import { attachExchange, existingExchange, type ExchangeRecord } from './exchange';
import { koaRouteTemplate } from './koa-route';
import type { Exchange } from './types';

interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
}

function resolveKoaRoute(ex: ExchangeRecord): string | undefined {
  return koaRouteTemplate(ex.ctx);
}

/**
 * Creates the request's exchange for a Koa context, or returns the one another vigil package
 * already made. Continue with `runKoaDownstream(ex, next)`.
 *
 * @example
 * ```ts
 * app.use(async function myObserver(ctx, next) {
 *   const ex = observeKoa(ctx);
 *   ex.onEnd((done) => console.log(done.route, done.status));
 *   await runKoaDownstream(ex, next);
 * });
 * ```
 */
export function observeKoa(ctx: KoaContextLike): Exchange {
  const existing = existingExchange(ctx.res);
  if (existing !== undefined) return existing;
  return attachExchange('koa', ctx.req, ctx.res, ctx, resolveKoaRoute);
}

/**
 * Runs the rest of a Koa chain inside the exchange's context, keeping any error it throws on the
 * exchange and rethrowing it unchanged for Koa to handle.
 *
 * @example
 * ```ts
 * app.use(async (ctx, next) => runKoaDownstream(observeKoa(ctx), next));
 * ```
 */
export async function runKoaDownstream(ex: Exchange, next: () => Promise<unknown>): Promise<void> {
  try {
    await runInExchange(ex, next);
  } catch (error) {
    (ex as ExchangeRecord).recordError(error);
    throw error;
  }
}
