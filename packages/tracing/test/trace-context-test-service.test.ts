import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import { setupTracing, traceContextTestService, type TracingHandle } from '@vigil/tracing';
import { close, listen, untraced } from './helpers';

const TRACE_ID = '12345678901234567890123456789012';

/** The harness side of the W3C test suite: records the headers of each callback. */
describe('traceContextTestService (W3C test suite contract)', () => {
  let tracing: TracingHandle;
  let service: Server;
  let serviceUrl: string;
  let harness: Server;
  let harnessUrl: string;
  let callbacks: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    tracing = setupTracing({ serviceName: 'w3c-test-service', exporter: 'memory' });
    ({ server: service, url: serviceUrl } = await listen(traceContextTestService()));
    ({ server: harness, url: harnessUrl } = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        callbacks.push({ path: req.url ?? '', headers: req.headers, body });
        res.end('ok');
      });
    }));
  });

  afterAll(async () => {
    await close(service);
    await close(harness);
    await tracing.shutdown();
  });

  beforeEach(() => {
    callbacks = [];
  });

  /** Sends the harness request: raw header pairs (duplicates kept) and `count` callbacks. */
  function send(headers: Array<[string, string]>, count = 1): Promise<number> {
    const body = JSON.stringify(Array.from({ length: count }, (_, i) => ({ url: `${harnessUrl}/${i}`, arguments: [] })));
    // an object with array values: Node sends one header line per value (duplicates kept)
    const flat: Record<string, string[]> = { 'content-type': ['application/json'], 'content-length': [String(Buffer.byteLength(body))] };
    for (const [k, v] of headers) (flat[k] ??= []).push(v);
    return untraced(() => new Promise((resolve, reject) => {
      const req = http.request(`${serviceUrl}/test`, { method: 'POST', headers: flat }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    }));
  }

  const parts = (value: string | string[] | undefined) => {
    expect(typeof value).toBe('string');
    const [version, traceId, parentId, flags] = (value as string).split('-');
    return { version, traceId, parentId, flags };
  };

  it('calls back each url in order with the propagated trace, before answering', async () => {
    expect(await send([['traceparent', `00-${TRACE_ID}-1234567890123456-01`]], 3)).toBe(200);
    expect(callbacks.map((c) => c.path)).toEqual(['/0', '/1', '/2']);
    const tps = callbacks.map((c) => parts(c.headers.traceparent));
    expect(new Set(tps.map((t) => t.traceId))).toEqual(new Set([TRACE_ID]));
    expect(new Set(tps.map((t) => t.parentId)).size).toBe(3);
    expect(tps.every((t) => t.version === '00' && t.parentId !== '1234567890123456')).toBe(true);
    expect(callbacks[0].body).toBe('[]');
  });

  it('keeps the random-trace-id flag of the caller', async () => {
    await send([['traceparent', `00-${TRACE_ID}-1234567890123456-03`]]);
    expect(parts(callbacks[0].headers.traceparent).flags).toBe('03');
  });

  it('starts a new trace when two traceparent headers arrive', async () => {
    await send([
      ['traceparent', `00-${TRACE_ID.replace(/2$/, '1')}-1234567890123456-01`],
      ['traceparent', `00-${TRACE_ID}-1234567890123456-01`],
    ]);
    const tp = parts(callbacks[0].headers.traceparent);
    expect(tp.traceId).not.toBe(TRACE_ID);
    expect(tp.traceId).not.toBe(TRACE_ID.replace(/2$/, '1'));
  });

  it('inherits tracestate, combining multiple header fields', async () => {
    await send([
      ['traceparent', `00-${TRACE_ID}-1234567890123456-00`],
      ['tracestate', 'foo=1,bar=2'],
      ['tracestate', 'rojo=1'],
    ]);
    expect(parts(callbacks[0].headers.traceparent).traceId).toBe(TRACE_ID);
    expect(callbacks[0].headers.tracestate).toBe('foo=1,bar=2,rojo=1');
  });

  it('drops tracestate when traceparent is missing or invalid', async () => {
    await send([['tracestate', 'foo=1']]);
    await send([
      ['traceparent', `00-${'0'.repeat(32)}-1234567890123456-01`],
      ['tracestate', 'foo=1'],
    ]);
    expect(callbacks.map((c) => c.headers.tracestate)).toEqual([undefined, undefined]);
    expect(parts(callbacks[1].headers.traceparent).traceId).not.toBe('0'.repeat(32));
  });

  it('answers 400 to a body that is not a list of {url, arguments}', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${serviceUrl}/test`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{"url": 1}');
    });
    expect(status).toBe(400);
  });
});
