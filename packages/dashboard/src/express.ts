import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { mergeableExpressMiddleware, observeExpress, continueExpress } from '@vigil/core';
import { DashboardEngine, type Reply } from './dashboard';
import type { DashboardOptions } from './types';

function send(res: Response, method: string, reply: Reply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(method === 'HEAD' ? undefined : reply.body);
}

/**
 * Express middleware serving the live dashboard at `options.path` (default `/_vigil`): charts of
 * rate, errors and latency over 15 minutes, the route table, health, alerts, traces, logs and the
 * process, updated every second over Server-Sent Events. Off when `NODE_ENV=production` unless
 * `enabled: true`; every other request passes through untouched.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { expressDashboard } from '@vigil/dashboard';
 *
 * const app = express();
 * app.use(expressDashboard({ authorize: (req) => req.socket.remoteAddress === '127.0.0.1' }));
 * app.listen(3000); // open http://127.0.0.1:3000/_vigil
 * ```
 */
export function expressDashboard(options: DashboardOptions = {}): RequestHandler {
  const engine = new DashboardEngine(options);
  if (!engine.enabled) {
    return mergeableExpressMiddleware(function vigilDashboardDisabled(_req: Request, _res: Response, next: NextFunction): void {
      next();
    });
  }
  return mergeableExpressMiddleware(function vigilDashboard(req: Request, res: Response, next: NextFunction): void {
    // the request's one Exchange (made here when no other vigil package did): it feeds the core's
    // traffic windows, so the page shows traffic even when the dashboard is the only package
    const ex = observeExpress(req, res);
    const sub = engine.match(req.url);
    if (sub === undefined) {
      continueExpress(ex, next);
      return;
    }
    ex.quiet = true; // out of access logs, traces and the windows
    engine.authorize(req).then((allowed) => {
      if (!allowed) {
        send(res, req.method, { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: 'Forbidden' });
        return;
      }
      const base = (req.baseUrl ?? '') + engine.path;
      const reply = engine.reply(sub, req.method, base === '/' ? '' : base, req.headers['if-none-match']);
      if (reply === undefined) engine.openStream(req, res);
      else send(res, req.method, reply);
    }).catch(next);
  });
}
