/**
 * The order service on Koa 3: the same domain and the same observability setup as the Express
 * service (`examples/order-service`), wired with the Koa adapters.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { koaLogging } from '@vigil/logging';
import { koaMetrics } from '@vigil/metrics';
import { koaTracing } from '@vigil/tracing';
import { koaHealth } from '@vigil/health';
import { koaDashboard } from '@vigil/dashboard';
import { Cache, Database, HttpError, OrderService, PaymentGateway } from '../../order-service/src/domain';
import { setupObservability } from '../../order-service/src/observability';

export const SERVICE = 'order-service-koa';

/** Builds the app and its observability; `main.ts` listens. */
export function createApp(env: NodeJS.ProcessEnv = process.env) {
  const db = new Database();
  const cache = new Cache();
  const payments = new PaymentGateway();
  const orders = new OrderService(db, cache, payments);
  const obs = setupObservability({ service: SERVICE, db, cache, env });

  const app = new Koa();
  app.use(koaTracing());
  app.use(koaLogging({ logger: obs.logger }));
  app.use(koaMetrics()); // records every request and serves GET /metrics
  app.use(koaHealth(obs.health)); // /health, /readiness, /liveness (+ /readyz, /livez)
  app.use(koaDashboard({ serviceName: SERVICE })); // /_vigil (off when NODE_ENV=production)

  // errors thrown below become JSON answers; 5xx are reported with app.emit('error'), so the access
  // line of the request carries the error
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      ctx.status = status;
      ctx.body = { error: status >= 500 ? 'internal error' : (err as Error).message };
      if (status >= 500) ctx.app.emit('error', err, ctx);
    }
  });
  app.on('error', () => {
    // already logged above with the request id and trace id
  });
  app.use(bodyParser());

  const router = new Router();
  router.post('/orders', async (ctx) => {
    const { userId, items } = (ctx.request.body ?? {}) as { userId?: unknown; items?: unknown };
    const order = await orders.createOrder(Number(userId), items as never);
    ctx.log.info({ orderId: order.id, totalCents: order.totalCents }, 'order created');
    ctx.status = 201;
    ctx.body = order;
  });
  router.get('/orders/:id', async (ctx) => {
    const order = await orders.getOrder(ctx.params.id);
    if (order === undefined) throw new HttpError(404, 'order not found');
    ctx.body = order;
  });
  router.get('/users/:id', async (ctx) => {
    const user = await orders.getUser(Number(ctx.params.id));
    if (user === undefined) throw new HttpError(404, 'user not found');
    ctx.body = user;
  });
  // Demo control, as in the Express service: a payment-provider incident for N seconds.
  router.post('/demo/incident', (ctx) => {
    const seconds = Math.min(300, Math.max(1, Number((ctx.request.body as { seconds?: unknown })?.seconds) || 30));
    payments.degrade(seconds);
    ctx.log.warn({ seconds }, 'simulated payment provider incident started');
    ctx.body = { degradedForSeconds: seconds };
  });
  app.use(router.routes());
  app.use(router.allowedMethods());

  return { app, db, payments, ...obs };
}
