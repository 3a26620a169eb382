import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { observeExpress, runInExchange, type Exchange } from '../src';

// Express 4.x installed under an npm alias; its Layer has `regexp` and `keys`, not `rawPath`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const express4 = require('express4') as typeof import('express');

/** An Express module: Express 5 or the Express 4 alias. */
export type ExpressModule = typeof express;

/** Both Express majors, for `describe.each`. */
export const EXPRESS_VERSIONS: Array<[string, ExpressModule]> = [
  ['Express 5', express],
  ['Express 4', express4],
];

/** The layers of an app's own router, where Express 5 (`router`) or Express 4 (`_router`) keeps them. */
export function routerStackOf<L>(app: unknown): L[] {
  const holder = app as { _router?: { stack: L[] }; router?: { stack: L[] } };
  return (holder._router ?? holder.router)?.stack ?? [];
}

/** Polls `check` every 5 ms until it is true, failing after `timeoutMs` (robust on a loaded machine). */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An Express app (of `lib`, Express 5 by default) whose first middleware observes every request and collects the ended exchanges. */
export function observedApp(lib: typeof express = express): { app: express.Express; ended: Exchange[] } {
  const app = lib();
  const ended: Exchange[] = [];
  app.use(function observe(req: Request, res: Response, next: NextFunction) {
    const ex = observeExpress(req, res);
    ex.onEnd((done) => ended.push(done));
    runInExchange(ex, next);
  });
  return { app, ended };
}

/** The exchange of one GET request to `url` on `app`, once it has ended (`ended` as `observedApp` gives it). */
export async function exchangeOf(app: express.Express, ended: Exchange[], url: string): Promise<Exchange> {
  const before = ended.length;
  await request(app).get(url);
  await until(() => ended.length > before);
  return ended[ended.length - 1];
}
