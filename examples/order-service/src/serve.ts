/**
 * Listens, prints the URLs to open and installs graceful shutdown: shared by the Express service
 * (`npm start`) and its Koa twin.
 */
import type { Server } from 'node:http';
import { gracefulShutdown } from '@vigil/health';
import type { setupObservability } from './observability';

type Observability = ReturnType<typeof setupObservability>;

interface Listener {
  listen(port: number, host: string, ready: () => void): Server;
}

/** Starts `app` on HOST / PORT (default `defaultPort`), prints its URLs, drains on SIGTERM/SIGINT. */
export function serveOrderService(app: Listener, service: string, obs: Observability, defaultPort: number): Server {
  const { logger, health, alerts, tracing } = obs;
  const host = process.env.HOST ?? '127.0.0.1';
  const port = Number(process.env.PORT ?? defaultPort);
  const server = app.listen(port, host, () => {
    const address = server.address();
    const base = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
    logger.info({ url: base }, `${service} listening`);
    process.stdout.write(
      [
        '',
        `  ${service} is running`,
        `  dashboard  ${base}/_vigil`,
        `  metrics    ${base}/metrics`,
        `  health     ${base}/health`,
        `  try        curl -X POST ${base}/orders -H 'content-type: application/json' -d '{"userId":7,"items":[{"sku":"book","qty":1}]}'`,
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
  return server;
}
