/**
 * The Koa twin of `npm start`: the order service with logs, metrics, traces, health, alerts and
 * the dashboard. `npm start -w examples/order-service-koa` (PORT, default 3001).
 */
import { gracefulShutdown } from '@vigil/health';
import { createApp, SERVICE } from './app';

const { app, logger, health, alerts, tracing } = createApp();
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3001);

const server = app.listen(port, host, () => {
  const address = server.address();
  const base = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
  logger.info({ url: base }, `${SERVICE} listening`);
  process.stdout.write(
    [
      '',
      `  ${SERVICE} is running`,
      `  dashboard  ${base}/_vigil`,
      `  metrics    ${base}/metrics`,
      `  health     ${base}/health`,
      `  load       BASE_URL=${base} npm run demo:load`,
      '',
      '',
    ].join('\n'),
  );
});

gracefulShutdown(server, health, {
  logger,
  onShutdown: [() => alerts.stop(), () => tracing.shutdown()],
});
