import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';
import { observeKoa, runKoaDownstream } from '@vigil/core';
import { AccessLog } from './access-log';
import type { LoggingOptions } from './types';

declare module 'koa' {
  interface ExtendableContext {
    /** The request's child logger (bound to `request_id`), created on first use by `koaLogging`. */
    log: Logger;
  }
}

/** Where `ctx.log` lives: the app's `app.context`, the prototype of every context it makes. */
function appContext(proto: object): object {
  return proto;
}

/**
 * Koa middleware: exactly one access line per request when it completes (method, route template
 * from `@koa/router`, masked path, status, duration, bytes, request and trace ids, outcome;
 * aborted requests as 499), at `error` for 5xx / thrown errors / timeouts, `warn` for 4xx, else
 * `info`, and `ctx.log`, a child logger bound to the request, made only if a handler reads it.
 * Errors thrown downstream are recorded and rethrown unchanged. Option names follow pino-http.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import { createLogger, koaLogging } from '@vigil/logging';
 *
 * const app = new Koa();
 * app.use(koaLogging({ logger: createLogger({ service: 'order-service' }) }));
 * const router = new Router();
 * router.get('/orders/:id', async (ctx) => {
 *   ctx.log.info({ order_id: ctx.params.id }, 'loading order');
 *   ctx.body = await loadOrder(ctx.params.id);
 * });
 * app.use(router.routes());
 * ```
 */
export function koaLogging(options?: LoggingOptions): Middleware {
  const access = new AccessLog(options, 'koa', appContext);
  // not async: the chain's own promise is returned, with no wrapper promise per request
  return function vigilLogging(ctx: Context, next: Next): Promise<unknown> {
    const ex = observeKoa(ctx);
    access.begin(ex);
    access.attach(ctx, ex);
    return runKoaDownstream(ex, next);
  };
}
