/**
 * The benchmark's modes. Each builds one server process's app serving `GET /users/:id` as JSON.
 * Anchor stacks are the libraries users compare vigil with; logs go to an async destination that
 * discards them and spans to an exporter that discards them, with every request sampled.
 */
import type { Server } from 'node:http';

export type Framework = 'express' | 'koa';

export interface Scenario {
  name: string;
  framework: Framework;
  description: string;
  /** Path the load generator requests (default `/users/42`). */
  path?: string;
  /** Builds the app and starts listening on 127.0.0.1 (ephemeral port). */
  start(): Promise<Server>;
}

const USER = { id: '', name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'author'] };

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Discarding async pino destination (`/dev/null` through sonic-boom, not synchronous). */
function discardingPino(): import('pino').Logger {
  const pino = require('pino') as typeof import('pino');
  return pino(pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }));
}

/** Sets up OpenTelemetry the way its docs show, with a discarding exporter and every request sampled. */
function otelAnchor(instrumentation: 'express' | 'koa'): void {
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor, AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const discard = { export: (_spans: unknown[], done: (r: { code: number }) => void) => done({ code: 0 }), shutdown: async () => undefined };
  const provider = new NodeTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(discard as never, { maxQueueSize: 8192, maxExportBatchSize: 512, scheduledDelayMillis: 1000 })],
  });
  provider.register();
  const framework =
    instrumentation === 'express'
      ? new (require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express')).ExpressInstrumentation()
      : new (require('@opentelemetry/instrumentation-koa') as typeof import('@opentelemetry/instrumentation-koa')).KoaInstrumentation();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), framework] });
}

type ExpressSetup = (app: import('express').Express) => void;
type KoaSetup = (app: import('koa')) => void;

function expressScenario(name: string, description: string, setup: ExpressSetup, before?: () => void, path?: string): Scenario {
  return {
    name,
    framework: 'express',
    description,
    path,
    async start() {
      before?.();
      const express = require('express') as typeof import('express');
      const http = require('node:http') as typeof import('node:http');
      const app = express();
      setup(app);
      app.get('/users/:id', (req, res) => {
        res.json({ ...USER, id: req.params.id });
      });
      return listen(http.createServer(app));
    },
  };
}

function koaScenario(name: string, description: string, setup: KoaSetup, before?: () => void, path?: string): Scenario {
  return {
    name,
    framework: 'koa',
    description,
    path,
    async start() {
      before?.();
      const Koa = require('koa') as typeof import('koa');
      const { Router } = require('@koa/router') as typeof import('@koa/router');
      const http = require('node:http') as typeof import('node:http');
      const app = new Koa();
      setup(app);
      const router = new Router();
      router.get('/users/:id', (ctx) => {
        ctx.body = { ...USER, id: ctx.params.id };
      });
      app.use(router.routes());
      return listen(http.createServer(app.callback()));
    },
  };
}

/** A span exporter that discards, behind vigil's batch span processor. */
const discardSpans = {
  export: (_spans: unknown[], done: (r: { code: number }) => void) => done({ code: 0 }),
  shutdown: async () => undefined,
  forceFlush: async () => undefined,
};

function vigilTracing(sampler: number): () => void {
  return () => {
    const { setupTracing } = require('@vigil/tracing') as typeof import('@vigil/tracing');
    setupTracing({ serviceName: 'bench', exporter: discardSpans as never, sampler });
  };
}

function vigilLogger(): import('pino').Logger {
  const { createLogger } = require('@vigil/logging') as typeof import('@vigil/logging');
  const pino = require('pino') as typeof import('pino');
  return createLogger({ service: 'bench', destination: pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }) }) as never;
}

function benchHealth(): import('@vigil/health').Health {
  const { createHealth } = require('@vigil/health') as typeof import('@vigil/health');
  const health = createHealth({ service: 'bench', version: '0.1.0' });
  health.register('database', async () => ({ status: 'pass' as const }), { critical: true, intervalMs: 1000, groups: ['readiness'] });
  health.register('cache', async () => ({ status: 'pass' as const }), { critical: false, intervalMs: 1000, groups: ['readiness'] });
  return health;
}

/** Every vigil package on Express, as the demo wires them (tracing set up before, in `before`). */
function expressAll(app: import('express').Express): void {
  const { expressLogging } = require('@vigil/logging') as typeof import('@vigil/logging');
  const { expressMetrics } = require('@vigil/metrics') as typeof import('@vigil/metrics');
  const { expressTracing } = require('@vigil/tracing') as typeof import('@vigil/tracing');
  const { expressHealth } = require('@vigil/health') as typeof import('@vigil/health');
  const { expressDashboard } = require('@vigil/dashboard') as typeof import('@vigil/dashboard');
  app.use(expressTracing());
  app.use(expressLogging({ logger: vigilLogger() as never }));
  app.use(expressMetrics());
  app.use(expressHealth(benchHealth()));
  app.use(expressDashboard({ enabled: true }));
}

function koaAll(app: import('koa')): void {
  const { koaLogging } = require('@vigil/logging') as typeof import('@vigil/logging');
  const { koaMetrics } = require('@vigil/metrics') as typeof import('@vigil/metrics');
  const { koaTracing } = require('@vigil/tracing') as typeof import('@vigil/tracing');
  const { koaHealth } = require('@vigil/health') as typeof import('@vigil/health');
  const { koaDashboard } = require('@vigil/dashboard') as typeof import('@vigil/dashboard');
  app.use(koaTracing());
  app.use(koaLogging({ logger: vigilLogger() as never }));
  app.use(koaMetrics());
  app.use(koaHealth(benchHealth()));
  app.use(koaDashboard({ enabled: true }));
}

/**
 * What a floor scenario does at the end of each request, built once: the least the whole stack
 * must do, by hand, with the libraries vigil is built on. Used to read the whole-stack targets by.
 */
interface FloorRecorder {
  /** At the start: request id echoed, a sampled SDK server span started, `traceresponse` set. */
  begin(method: string, setHeader: (name: string, value: string) => void): { id: string; span: import('@opentelemetry/api').Span; start: number };
  /** At the end: span named and ended, counter and histogram recorded, one access line written. */
  end(request: { id: string; span: import('@opentelemetry/api').Span; start: number }, method: string, route: string, status: number): void;
}

/**
 * A prom-client request counter and duration histogram, by method, route and status, recorded
 * the cheapest way prom-client allows: each series' children looked up once, by one string key.
 */
function promRed(): (method: string, route: string, status: number, seconds: number) => void {
  const client = require('prom-client') as typeof import('prom-client');
  const registry = new client.Registry();
  const labelNames = ['method', 'route', 'status_code'];
  const requests = new client.Counter({ name: 'http_requests_total', help: 'Requests.', labelNames, registers: [registry] });
  const duration = new client.Histogram({ name: 'http_request_duration_seconds', help: 'Duration.', labelNames, registers: [registry] });
  const series = new Map<string, { count: import('prom-client').Counter.Internal; time: import('prom-client').Histogram.Internal<string> }>();
  return (method, route, status, seconds) => {
    const key = `${method} ${route} ${status}`;
    let children = series.get(key);
    if (children === undefined) {
      const labels = { method, route, status_code: String(status) };
      children = { count: requests.labels(labels), time: duration.labels(labels) };
      series.set(key, children);
    }
    children.count.inc();
    children.time.observe(seconds);
  };
}

function floorRecorder(): FloorRecorder {
  const { BasicTracerProvider, BatchSpanProcessor, AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const pino = require('pino') as typeof import('pino');
  const { performance } = require('node:perf_hooks') as typeof import('node:perf_hooks');
  const provider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(discardSpans as never, { maxQueueSize: 8192, maxExportBatchSize: 512, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('floor');
  const red = promRed();
  const destination = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
  let counter = 0;
  return {
    begin(method, setHeader) {
      const id = `floor-${++counter}`;
      setHeader('x-request-id', id);
      const span = tracer.startSpan(method, { kind: 1 /* SERVER */ });
      const sc = span.spanContext();
      setHeader('traceresponse', `00-${sc.traceId}-${sc.spanId}-01`);
      return { id, span, start: performance.now() };
    },
    end(request, method, route, status) {
      const ms = performance.now() - request.start;
      const span = request.span;
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', status);
      span.end();
      red(method, route, status, ms / 1000);
      const sc = span.spanContext();
      destination.write(
        `{"level":"info","timestamp":"${new Date().toISOString()}","method":"${method}","route":"${route}","status":${status},"duration_ms":${ms},"request_id":"${request.id}","trace_id":"${sc.traceId}","span_id":"${sc.spanId}","message":"request completed"}\n`,
      );
    },
  };
}

function noopSink(): void {
  // the core alone: one exchange, one listener, one sink that does nothing
}

export const scenarios: Scenario[] = [
  expressScenario('express-bare', 'Express 5, no observability', () => undefined),
  expressScenario('express-bare-twin', 'reference: a second bare app, measured as the scenarios are (checks the method: should be 1.00)', () => undefined),
  expressScenario('express-middleware', 'reference: one empty middleware (the floor of any middleware package)', (app) => {
    app.use(function emptyMiddleware(_req, _res, next) {
      next();
    });
  }),
  expressScenario('express-middleware-5', 'reference: five empty middlewares (as many layers as every vigil package)', (app) => {
    for (let i = 0; i < 5; i++) {
      app.use(function emptyMiddleware(_req, _res, next) {
        next();
      });
    }
  }),
  expressScenario('express-header', 'reference: one middleware that only echoes a generated request id header (what the issues ask of every request)', (app) => {
    let counter = 0;
    app.use(function echoRequestId(_req, res, next) {
      res.setHeader('x-request-id', `bench-${++counter}`);
      next();
    });
  }),
  expressScenario('express-als', 'reference: one middleware that only runs the rest of the request in an AsyncLocalStorage (the request context the issues ask for)', (app) => {
    const { AsyncLocalStorage } = require('node:async_hooks') as typeof import('node:async_hooks');
    const storage = new AsyncLocalStorage<object>();
    app.use(function requestContext(req, _res, next) {
      storage.run(req, next);
    });
  }),
  expressScenario('express-core', '@vigil/core: observeExpress with one no-op sink', (app) => {
    const { observeExpress, continueExpress } = require('@vigil/core') as typeof import('@vigil/core');
    app.use(function vigilCore(req, res, next) {
      const ex = observeExpress(req, res);
      ex.onEnd(noopSink);
      continueExpress(ex, next);
    });
  }),
  expressScenario('express-core-context', '@vigil/core with the request context entered (one AsyncLocalStorage)', (app) => {
    const { observeExpress, runInExchange } = require('@vigil/core') as typeof import('@vigil/core');
    app.use(function vigilCore(req, res, next) {
      const ex = observeExpress(req, res);
      ex.onEnd(noopSink);
      runInExchange(ex, next);
    });
  }),
  expressScenario('express-pino-http', 'anchor: pino-http alone', (app) => {
    const pinoHttp = require('pino-http') as typeof import('pino-http').default;
    app.use(pinoHttp({ logger: discardingPino() }));
  }),
  expressScenario('express-pino-line', 'reference: pino alone, one info line per request (method, url, status) when the response finishes', (app) => {
    const logger = discardingPino();
    app.use(function pinoLine(req, res, next) {
      res.on('finish', () => logger.info({ method: req.method, url: req.url, status: res.statusCode }, 'request completed'));
      next();
    });
  }),
  expressScenario('express-line', 'reference: one access line per request written by hand as a string (no pino call) to the same discarding destination when the response finishes', (app) => {
    const pino = require('pino') as typeof import('pino');
    const destination = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
    let counter = 0;
    app.use(function handLine(req, res, next) {
      const id = ++counter;
      res.once('finish', () => destination.write(`{"level":"info","time":${Date.now()},"method":"${req.method}","url":"${req.url}","status":${res.statusCode},"request_id":${id},"message":"request completed"}\n`));
      next();
    });
  }),
  expressScenario('express-prom-bundle', 'anchor: express-prom-bundle alone', (app) => {
    const promBundle = require('express-prom-bundle') as typeof import('express-prom-bundle');
    app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
  }),
  expressScenario('express-otel', 'anchor: OpenTelemetry http + express instrumentation', () => undefined, () => otelAnchor('express')),
  expressScenario(
    'express-anchor',
    'anchor stack: pino-http + express-prom-bundle + OpenTelemetry http/express',
    (app) => {
      const pinoHttp = require('pino-http') as typeof import('pino-http').default;
      const promBundle = require('express-prom-bundle') as typeof import('express-prom-bundle');
      app.use(pinoHttp({ logger: discardingPino() }));
      app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
    },
    () => otelAnchor('express'),
  ),
  expressScenario('express-logging', '@vigil/logging alone (access line per request to a discarding async destination)', (app) => {
    const { expressLogging } = require('@vigil/logging') as typeof import('@vigil/logging');
    app.use(expressLogging({ logger: vigilLogger() as never }));
  }),
  expressScenario('express-metrics', '@vigil/metrics alone (RED metrics, /metrics mounted)', (app) => {
    const { expressMetrics } = require('@vigil/metrics') as typeof import('@vigil/metrics');
    app.use(expressMetrics());
  }),
  expressScenario('express-tracing', '@vigil/tracing alone, every request sampled', (app) => {
    const { expressTracing } = require('@vigil/tracing') as typeof import('@vigil/tracing');
    app.use(expressTracing());
  }, vigilTracing(1)),
  expressScenario('express-tracing-unsampled', '@vigil/tracing alone, sampling off (context still propagated)', (app) => {
    const { expressTracing } = require('@vigil/tracing') as typeof import('@vigil/tracing');
    app.use(expressTracing());
  }, vigilTracing(0)),
  expressScenario('express-health-probe', '@vigil/health: GET /readyz answered from cached check results', (app) => {
    const { expressHealth } = require('@vigil/health') as typeof import('@vigil/health');
    app.use(expressHealth(benchHealth()));
  }, undefined, '/readyz'),
  expressScenario('express-floor', 'reference: the least the whole stack must do, by hand (request context, request id echoed, a sampled SDK server span exported in batches, traceresponse, one prom-client counter and histogram, one access line); no route template beyond req.route, no outcome, sizes, health or dashboard', (app) => {
    const { AsyncLocalStorage } = require('node:async_hooks') as typeof import('node:async_hooks');
    const storage = new AsyncLocalStorage<object>();
    const floor = floorRecorder();
    app.use(function floorStack(req, res, next) {
      const request = floor.begin(req.method, (name, value) => res.setHeader(name, value));
      res.once('finish', () => floor.end(request, req.method, (req.route as { path?: string } | undefined)?.path ?? '(unmatched)', res.statusCode));
      storage.run(request, next);
    });
  }),
  expressScenario('express-metrics-floor', 'reference: the least RED metrics need on Express, by hand and with no router layer: request start from the http.server.request.start diagnostics channel, res.once(finish), req.route, a prom-client counter and histogram through cached children; no request id, in-flight, sizes, windows, outcome or aborts', () => {
    const { subscribe } = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
    const { performance } = require('node:perf_hooks') as typeof import('node:perf_hooks');
    const red = promRed();
    subscribe('http.server.request.start', (message) => {
      const { request, response } = message as { request: import('node:http').IncomingMessage; response: import('node:http').ServerResponse };
      const start = performance.now();
      response.once('finish', () => {
        const route = (request as unknown as { route?: { path?: string } }).route?.path ?? '(unmatched)';
        red(request.method ?? 'GET', route, response.statusCode, (performance.now() - start) / 1000);
      });
    });
  }),
  expressScenario('express-all', 'every vigil package: tracing (all sampled), logging, metrics, health, dashboard', expressAll, vigilTracing(1)),
  koaScenario('koa-bare', 'Koa 3 + @koa/router, no observability', () => undefined),
  koaScenario('koa-bare-twin', 'reference: a second bare app, measured as the scenarios are (checks the method: should be 1.00)', () => undefined),
  koaScenario('koa-middleware', 'reference: one empty middleware (the floor of any middleware package)', (app) => {
    app.use(function emptyMiddleware(_ctx, next) {
      return next();
    });
  }),
  koaScenario('koa-middleware-5', 'reference: five empty middlewares (as many layers as every vigil package)', (app) => {
    for (let i = 0; i < 5; i++) {
      app.use(function emptyMiddleware(_ctx, next) {
        return next();
      });
    }
  }),
  koaScenario('koa-core', '@vigil/core: observeKoa with one no-op sink', (app) => {
    const { observeKoa, continueKoa } = require('@vigil/core') as typeof import('@vigil/core');
    app.use(function vigilCore(ctx, next) {
      const ex = observeKoa(ctx);
      ex.onEnd(noopSink);
      return continueKoa(ex, next);
    });
  }),
  koaScenario('koa-core-context', '@vigil/core with the request context entered (one AsyncLocalStorage)', (app) => {
    const { observeKoa, runKoaDownstream } = require('@vigil/core') as typeof import('@vigil/core');
    app.use(function vigilCore(ctx, next) {
      const ex = observeKoa(ctx);
      ex.onEnd(noopSink);
      return runKoaDownstream(ex, next);
    });
  }),
  koaScenario('koa-logging', '@vigil/logging alone', (app) => {
    const { koaLogging } = require('@vigil/logging') as typeof import('@vigil/logging');
    app.use(koaLogging({ logger: vigilLogger() as never }));
  }),
  koaScenario('koa-metrics', '@vigil/metrics alone', (app) => {
    const { koaMetrics } = require('@vigil/metrics') as typeof import('@vigil/metrics');
    app.use(koaMetrics());
  }),
  koaScenario('koa-tracing', '@vigil/tracing alone, every request sampled', (app) => {
    const { koaTracing } = require('@vigil/tracing') as typeof import('@vigil/tracing');
    app.use(koaTracing());
  }, vigilTracing(1)),
  koaScenario('koa-floor', 'reference: the least the whole stack must do, by hand (as express-floor; route from @koa/router\'s _matchedRoute)', (app) => {
    const { AsyncLocalStorage } = require('node:async_hooks') as typeof import('node:async_hooks');
    const storage = new AsyncLocalStorage<object>();
    const floor = floorRecorder();
    app.use(function floorStack(ctx, next) {
      const request = floor.begin(ctx.method, (name, value) => ctx.set(name, value));
      ctx.res.once('finish', () => floor.end(request, ctx.method, (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? '(unmatched)', ctx.status));
      return storage.run(request, next);
    });
  }),
  koaScenario('koa-all', 'every vigil package: tracing (all sampled), logging, metrics, health, dashboard', koaAll, vigilTracing(1)),
  koaScenario(
    'koa-anchor',
    'anchor stack: koa-pino-logger + prom-client histogram + OpenTelemetry http/koa',
    (app) => {
      const koaPino = require('koa-pino-logger') as (opts: unknown) => import('koa').Middleware;
      const client = require('prom-client') as typeof import('prom-client');
      const histogram = new client.Histogram({ name: 'http_request_duration_seconds', help: 'duration', labelNames: ['method', 'route', 'status_code'] });
      app.use(koaPino({ logger: discardingPino() }));
      app.use(async (ctx, next) => {
        const end = histogram.startTimer();
        try {
          await next();
        } finally {
          end({ method: ctx.method, route: (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched', status_code: String(ctx.status) });
        }
      });
    },
    () => otelAnchor('koa'),
  ),
];

export function findScenario(name: string): Scenario {
  const found = scenarios.find((s) => s.name === name);
  if (found === undefined) throw new Error(`unknown scenario ${name}; have ${scenarios.map((s) => s.name).join(', ')}`);
  return found;
}
