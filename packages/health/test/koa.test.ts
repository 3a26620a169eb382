import Koa from 'koa';
import http from 'node:http';
import { koaHealth, type Health } from '../src';
import { probeSuite } from './probe-suite';

probeSuite('koaHealth', (health: Health, options: Record<string, unknown>) => {
  const app = new Koa();
  app.use(koaHealth(health, options));
  app.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/orders') ctx.body = 'app';
    else await next();
  });
  return http.createServer(app.callback());
});
