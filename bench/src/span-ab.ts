/**
 * `npm run span-ab -w bench` : what one request's SERVER span costs, started, named, given its
 * two end attributes and ended into a batch span processor (whose exporter discards), in a loop:
 * the SDK's span (`tracer.startSpan`, as the middleware starts it without vigil's span factory)
 * against `VigilServerSpan`, sampled and unsampled, each in a fresh process, three times.
 * CPU µs per span; a loop, so it shows the span's own work, not what it costs a server around it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

type Which = 'sdk' | 'vigil';

function measure(which: Which, sampler: number): number {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { setupTracing } = require('@vigil/tracing') as typeof import('@vigil/tracing');
  // internal modules, by file path (the package's exports map offers only its index)
  const tracingDist = path.join(path.dirname(require.resolve('@vigil/tracing')));
  const { startServerSpan, spanFactoryParts } = require(path.join(tracingDist, 'vigil-server-span')) as typeof import('../../packages/tracing/dist/vigil-server-span');
  const { perfToHrTime, hrTimeAfter } = require(path.join(tracingDist, 'span-time')) as typeof import('../../packages/tracing/dist/span-time');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const tracing = setupTracing({
    serviceName: 'span-ab',
    exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() },
    sampler,
    traceSummaries: false,
    instrumentHttp: false,
    instrumentFetch: false,
  });
  const parts = spanFactoryParts(tracing.tracer);
  if (parts === undefined) throw new Error('span-ab: the tracer has no span factory parts');
  const ex = { method: 'GET', path: '/users/1', startTime: 1000, req: { socket: {}, httpVersion: '1.1' } } as never;
  const sdk = (): void => {
    const span = tracing.tracer.startSpan('GET', { kind: api.SpanKind.SERVER, startTime: perfToHrTime(1000) }, api.ROOT_CONTEXT);
    if (span.isRecording()) {
      span.setAttribute('http.request.method', 'GET');
      span.setAttribute('url.path', '/users/1');
      span.setAttribute('url.scheme', 'http');
      span.setAttribute('network.protocol.version', '1.1');
      span.updateName('GET /users/:id');
      span.setAttribute('http.route', '/users/:id');
      span.setAttribute('http.response.status_code', 200);
      span.end(hrTimeAfter((span as unknown as { startTime: [number, number] }).startTime, 1.5));
    } else span.end();
  };
  const vigil = (): void => {
    const span = startServerSpan(parts, ex, true, 'GET', api.ROOT_CONTEXT, undefined) as ReturnType<typeof startServerSpan> & { put?: (k: string, v: string | number) => void; startTime?: [number, number] };
    if (span.isRecording() && span.put !== undefined && span.startTime !== undefined) {
      span.updateName('GET /users/:id');
      span.put('http.route', '/users/:id');
      span.put('http.response.status_code', 200);
      span.end(hrTimeAfter(span.startTime, 1.5));
    } else span.end();
  };
  const fn = which === 'sdk' ? sdk : vigil;
  const n = 200_000;
  for (let i = 0; i < n; i++) fn();
  const before = process.cpuUsage();
  for (let r = 0; r < 5; r++) for (let i = 0; i < n; i++) fn();
  const used = process.cpuUsage(before);
  void tracing.shutdown();
  return (used.user + used.system) / (n * 5);
}

if (process.argv[2] === '--child') {
  process.stdout.write(String(measure(process.argv[3] as Which, Number(process.argv[4]))));
} else {
  for (const sampler of [1, 0]) {
    const rows: Record<Which, string[]> = { sdk: [], vigil: [] };
    for (let round = 0; round < 3; round++) {
      for (const which of ['sdk', 'vigil'] as const) {
        rows[which].push(Number(execFileSync(process.execPath, [__filename, '--child', which, String(sampler)], { encoding: 'utf8' })).toFixed(2));
      }
    }
    console.log(`${sampler === 1 ? 'sampled  ' : 'unsampled'}  SDK span: ${rows.sdk.join(' / ')} µs   VigilServerSpan: ${rows.vigil.join(' / ')} µs`);
  }
}
