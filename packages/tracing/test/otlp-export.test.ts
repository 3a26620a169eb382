import { gunzipSync } from 'node:zlib';
import express from 'express';
import type { IExportTraceServiceRequest, ISpan } from '@opentelemetry/otlp-transformer/build/src/trace/internal-types';
import type { IKeyValue } from '@opentelemetry/otlp-transformer/build/src/common/internal-types';
import { registeredPackage } from '@vigil/core';
import { expressTracing, setupTracing } from '@vigil/tracing';
import { close, httpGet, listen, untraced, waitFor } from './helpers';

function attr(list: IKeyValue[] | undefined, key: string): unknown {
  const found = list?.find((a) => a.key === key)?.value;
  return found?.stringValue ?? found?.intValue ?? found?.boolValue;
}

function app(): express.Express {
  const a = express();
  a.use(expressTracing());
  a.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
  return a;
}

describe('setupTracing with the OTLP/HTTP exporter', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('sends spans and resource to the receiver named by OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const payloads: IExportTraceServiceRequest[] = [];
    const paths: string[] = [];
    const { server: receiver, url: receiverUrl } = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        paths.push(req.url ?? '');
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (req.headers['content-type']?.startsWith('application/json')) payloads.push(JSON.parse(body.toString('utf8')) as IExportTraceServiceRequest);
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiverUrl;
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=test';
    const tracing = setupTracing({ serviceName: 'checkout', serviceVersion: '2.0.0', batch: { scheduledDelayMillis: 50 } });
    const { server, url } = await listen(app() as never);
    try {
      const res = await untraced(() => httpGet(`${url}/users/5`));
      expect(res.status).toBe(200);
      await tracing.forceFlush();
      const span = await waitFor(() => {
        for (const p of payloads) for (const rs of p.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) if (s.name === 'GET /users/:id') return { rs, s };
        return undefined;
      });
      expect(paths[0]).toBe('/v1/traces');
      expect(attr(span.rs.resource?.attributes, 'service.name')).toBe('checkout');
      expect(attr(span.rs.resource?.attributes, 'service.version')).toBe('2.0.0');
      expect(attr(span.rs.resource?.attributes, 'deployment.environment.name')).toBe('test');
      const s: ISpan = span.s;
      expect(s.kind).toBe(2); // SPAN_KIND_SERVER
      expect(String(s.traceId)).toMatch(/^[0-9a-f]{32}$/);
      expect(String(s.traceId)).toBe(res.headers.traceresponse?.toString().split('-')[1]);
      expect(attr(s.attributes, 'http.route')).toBe('/users/:id');
      expect(Number(attr(s.attributes, 'http.response.status_code'))).toBe(200);
      expect(tracing.stats().exportedSpans).toBeGreaterThan(0);
    } finally {
      await close(server);
      await tracing.shutdown();
      await close(receiver);
    }
  });

  it('keeps serving when the receiver is down and reports the lost spans', async () => {
    const { server: gone, url: deadUrl } = await listen(() => undefined);
    await close(gone);
    const tracing = setupTracing({
      serviceName: 'checkout',
      otlp: { url: `${deadUrl}/v1/traces`, timeoutMillis: 1000 },
      batch: { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 10, exportTimeoutMillis: 2000 },
    });
    const { server, url } = await listen(app() as never);
    try {
      // bursts of concurrent requests end spans faster than the queue of 4 drains, however slow the
      // machine (one request at a time, a loaded run could let every failed export finish first)
      for (let burst = 0; burst < 10 && tracing.stats().droppedSpans === 0; burst++) {
        const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => untraced(() => httpGet(`${url}/users/${burst}-${i}`))));
        for (const res of answers) expect(res.status).toBe(200);
      }
      const stats = await waitFor(() => {
        const s = tracing.stats();
        return s.droppedSpans > 0 && s.failedSpans > 0 ? s : undefined;
      }, 15_000);
      expect(stats.exportedSpans).toBe(0);
      expect(stats.queueCapacity).toBe(4);
      expect(registeredPackage('tracing')?.snapshot?.()).toMatchObject({ droppedSpans: stats.droppedSpans > 0 ? expect.any(Number) : 0 });
      expect((registeredPackage('tracing')?.snapshot?.() as { droppedSpans: number }).droppedSpans).toBeGreaterThan(0);
    } finally {
      await close(server);
      await tracing.shutdown();
    }
  }, 30_000);
});
