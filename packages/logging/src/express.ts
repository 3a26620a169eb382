import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { mergeableExpressMiddleware, observeExpress, runInExchange } from '@vigil/core';
import { AccessLog } from './access-log';
import type { LoggingOptions } from './types';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request's child logger (bound to `request_id`), created on first use by `expressLogging`. */
      log: Logger;
    }
  }
}

/**
 * Where `req.log` lives: Express's shared request prototype (the one right above
 * `IncomingMessage.prototype`), so requests keep it when they enter a mounted sub-app, whose
 * `app.request` inherits from it. Never `IncomingMessage.prototype` itself.
 */
function expressRequestPrototype(proto: object): object | undefined {
  let host = proto;
  for (let depth = 0; depth < 8; depth++) {
    const up = Object.getPrototypeOf(host) as object | null;
    if (up === null || up === IncomingMessage.prototype || up === Object.prototype) break;
    host = up;
  }
  return host === IncomingMessage.prototype ? undefined : host;
}

/**
 * Express middleware: exactly one access line per request when it completes (method, route
 * template, masked path, status, duration, bytes, request and trace ids, outcome; aborted requests
 * as 499), at `error` for 5xx / errors / timeouts, `warn` for 4xx, else `info`, and `req.log`, a
 * child logger bound to the request, made only if the handler reads it. Ignored paths still get a
 * request id; exchanges marked quiet (health probes) are skipped. Option names follow pino-http.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createLogger, expressLogging } from '@vigil/logging';
 *
 * const logger = createLogger({ service: 'order-service' });
 * const app = express();
 * app.use(expressLogging({ logger, ignorePaths: ['/healthz'] }));
 * app.get('/orders/:id', async (req, res) => {
 *   const order = await loadOrder(req.params.id);
 *   req.log.info({ order_id: order.id }, 'order loaded'); // carries request_id
 *   res.json(order);
 * });
 * ```
 */
export function expressLogging(options?: LoggingOptions): RequestHandler {
  const access = new AccessLog(options, 'express', expressRequestPrototype);
  return mergeableExpressMiddleware(function vigilLogging(req: Request, res: Response, next: NextFunction): void {
    const ex = observeExpress(req, res);
    access.begin(ex);
    access.attach(req, ex);
    runInExchange(ex, next);
  });
}
