import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { reportError } from '@vigil/core';
import { Registry } from 'prom-client';
import { createEndpoint, endpointUrlMatcher, writeAnswer } from './endpoint';
import { renderMetrics } from './exposition';
import type { MetricsServer, ServeMetricsOptions } from './types';

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

/**
 * Serves metrics on a port of their own, as Python's `start_http_server(8000)` does: the app's
 * port stays free of `/metrics`. Serves an engine (`metrics`) or any prom-client `registry`.
 * Resolves once listening; `close()` stops it.
 *
 * @example
 * ```ts
 * import { createMetrics, expressMetrics, serveMetrics } from '@vigil/metrics';
 * const metrics = createMetrics();
 * app.use(expressMetrics({ metrics, path: false }));
 * const server = await serveMetrics({ metrics, port: 9464 });
 * console.log(`scrape ${server.url}`);
 * ```
 */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  if (options === null || typeof options !== 'object') fail('serveMetrics needs options');
  const { port = 9464, host = '0.0.0.0', metrics, registry, ...endpointOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`port must be an integer in 0..65535, got ${String(port)}`);
  if (typeof host !== 'string' || host === '') fail('host must be a non-empty string');
  let scrape: (om: boolean) => Promise<{ contentType: string; body: string }>;
  if (metrics !== undefined) {
    if (metrics === null || typeof metrics.scrape !== 'function') fail('metrics must be an engine made by createMetrics()');
    scrape = (om) => metrics.scrape(om);
  } else if (registry !== undefined) {
    if (!(registry instanceof Registry) && typeof (registry as { metrics?: unknown }).metrics !== 'function') fail('registry must be a prom-client Registry');
    scrape = (om) => renderMetrics(registry, om);
  } else fail('serveMetrics needs metrics (an engine) or a registry');
  const endpoint = createEndpoint(scrape, endpointOptions);
  const isEndpoint = endpoint.path === false ? () => true : endpointUrlMatcher(endpoint.path);
  const server: Server = createServer((req, res) => {
    if (!isEndpoint(req.url ?? '/')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not Found\n');
      return;
    }
    endpoint.answer(req).then(
      (answer) => writeAnswer(req, res, answer),
      (error: unknown) => {
        reportError('metrics.endpoint', error);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    port: address.port,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}${endpoint.path === false ? '/' : endpoint.path}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
