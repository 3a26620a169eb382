/**
 * The Koa twin of `npm start`: the order service with logs, metrics, traces, health, alerts and
 * the dashboard. `npm start -w examples/order-service-koa` (PORT, default 3001).
 */
import { serveOrderService } from '../../order-service/src/serve';
import { createApp, SERVICE } from './app';

const { app, ...obs } = createApp();
serveOrderService(app, SERVICE, obs, 3001);
