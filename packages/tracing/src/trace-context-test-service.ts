import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import { observeNode, runInExchange } from '@vigil/core';
import { injectTraceHeaders } from './inject';
import { enterServerSpan, serverTracingConfig } from './server-span';
import { traced } from './traced';

/** One instruction of the W3C Trace Context test harness. */
interface HarnessCall {
  url: string;
  arguments: unknown;
}

const MAX_BODY_BYTES = 1024 * 1024;
const CALL_TIMEOUT_MS = 10_000;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseCalls(body: string): HarnessCall[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  for (const item of parsed) {
    if (item === null || typeof item !== 'object' || typeof (item as HarnessCall).url !== 'string') return undefined;
    const url = (item as HarnessCall).url;
    if (!url.startsWith('http://') && !url.startsWith('https://')) return undefined;
  }
  return parsed as HarnessCall[];
}

function postJson(url: string, payload: unknown): Promise<void> {
  const body = JSON.stringify(payload ?? []);
  const headers = injectTraceHeaders<Record<string, string | number>>({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, timeout: CALL_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('harness call timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') {
    res.statusCode = 405;
    res.end();
    return;
  }
  const calls = parseCalls(await readBody(req));
  if (calls === undefined) {
    res.statusCode = 400;
    res.end('expected a JSON array of {url, arguments}');
    return;
  }
  for (const call of calls) {
    await traced('trace-context test call', () => postJson(call.url, call.arguments), { attributes: { 'url.full': call.url } });
  }
  res.statusCode = 200;
  res.setHeader('content-type', 'application/json');
  res.end('{}');
}

/**
 * A test service for the official W3C Trace Context test suite (`test/test.py` of
 * w3c/trace-context): every POST carries a JSON list of `{url, arguments}`; the service continues
 * the caller's trace in a SERVER span, then POSTs `arguments` to each `url` in turn, each call in
 * a new child span carrying the propagated context, and answers once all calls are done.
 * Call `setupTracing()` first; the returned server is not listening yet.
 *
 * @example
 * ```ts
 * setupTracing({ serviceName: 'trace-context-test', exporter: 'none' });
 * traceContextTestService().listen(5000, '127.0.0.1');
 * // then: STRICT_LEVEL=2 python test.py http://127.0.0.1:5000/test
 * ```
 */
export function traceContextTestService(): Server {
  const config = serverTracingConfig({}, 'traceContextTestService');
  return http.createServer((req, res) => {
    const ex = observeNode(req, res);
    const run = (): void => {
      serve(req, res).catch((error: unknown) => {
        ex.recordError(error);
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
    };
    const ctx = enterServerSpan(ex, config);
    if (ctx === undefined) runInExchange(ex, run);
    else context.with(ctx, run);
  });
}
