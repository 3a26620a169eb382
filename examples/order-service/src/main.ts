/**
 * `npm start`: the order service with logs, metrics, traces, health, alerts and the dashboard.
 */
import { createApp, SERVICE } from './app';
import { serveOrderService } from './serve';

const { app, ...obs } = createApp();
serveOrderService(app, SERVICE, obs, 3000);
