/**
 * The order service on Express 5, with every vigil package wired in as a user would.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { expressLogging } from '@vigil/logging';
import { expressMetrics } from '@vigil/metrics';
import { expressTracing } from '@vigil/tracing';
import { expressHealth } from '@vigil/health';
import { expressDashboard } from '@vigil/dashboard';
import { Cache, Database, HttpError, OrderService, PaymentGateway } from './domain';
import { setupObservability } from './observability';

export const SERVICE = 'order-service';

/** Builds the app and its observability; `main.ts` listens. */
export function createApp(env: NodeJS.ProcessEnv = process.env) {
  const db = new Database();
  const cache = new Cache();
  const payments = new PaymentGateway();
  const orders = new OrderService(db, cache, payments);
  const obs = setupObservability({ service: SERVICE, db, cache, env });

  const app = express();
  app.use(express.json({ limit: '100kb' }));
  app.use(expressTracing());
  app.use(expressLogging({ logger: obs.logger }));
  app.use(expressMetrics()); // records every request and serves GET /metrics
  app.use(expressHealth(obs.health)); // /health, /readiness, /liveness (+ /readyz, /livez)
  app.use(expressDashboard({ serviceName: SERVICE })); // /_vigil (off when NODE_ENV=production)

  app.post('/orders', async (req: Request, res: Response) => {
    const { userId, items } = (req.body ?? {}) as { userId?: unknown; items?: unknown };
    const order = await orders.createOrder(Number(userId), items as never);
    req.log.info({ orderId: order.id, totalCents: order.totalCents }, 'order created');
    res.status(201).json(order);
  });

  app.get('/orders/:id', async (req: Request<{ id: string }>, res: Response) => {
    const order = await orders.getOrder(req.params.id);
    if (order === undefined) throw new HttpError(404, 'order not found');
    res.json(order);
  });

  app.get('/users/:id', async (req: Request<{ id: string }>, res: Response) => {
    const user = await orders.getUser(Number(req.params.id));
    if (user === undefined) throw new HttpError(404, 'user not found');
    res.json(user);
  });

  // Demo control: a payment-provider incident for N seconds (slow, a third of payments fail),
  // so `npm run demo:load` can show an alert firing and resolving. Local requests only.
  app.post('/demo/incident', (req: Request, res: Response) => {
    const seconds = Math.min(300, Math.max(1, Number((req.body as { seconds?: unknown })?.seconds) || 30));
    payments.degrade(seconds);
    req.log.warn({ seconds }, 'simulated payment provider incident started');
    res.json({ degradedForSeconds: seconds });
  });

  // the core keeps the error on the request's Exchange, so its access line carries it
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof HttpError ? err.status : 500;
    res.status(status).json({ error: status >= 500 ? 'internal error' : (err as Error).message });
  });

  return { app, db, payments, ...obs };
}
