import { BatchShipper, normaliseBatchOptions, RetryableError } from './batch-shipper';
import { isRetryableStatus } from './elasticsearch-transport';
import { noteTransport } from './package-info';
import type { HttpBatchTransportOptions, LogTransport } from './types';

/** A line as a JSON value inside the batch: itself when it is a JSON object, else `{ "message": line }`. */
function asJsonObject(line: string): string {
  return line.charCodeAt(0) === 123 && line.charCodeAt(line.length - 1) === 125 ? line : JSON.stringify({ message: line });
}

/**
 * POSTs log lines to a log aggregator in batches, as `{ "logs": [ ...lines ] }` (the guide's
 * centralised logger), with the same bounded buffer, batching, in-order delivery, retries with
 * backoff through outages (network errors, 408, 429, 5xx) and exact drop counting as
 * `elasticsearchTransport`. Other 4xx answers reject the batch (counted, with a warning).
 *
 * @example
 * ```ts
 * import { createLogger, httpBatchTransport } from '@vigil/logging';
 *
 * const shipper = httpBatchTransport({ url: 'http://log-aggregator:8080/api/logs', batchSize: 200, flushIntervalMs: 2000, timeoutMs: 5000 });
 * const logger = createLogger({ service: 'checkout', transports: [shipper] });
 * logger.info({ user_id: 123 }, 'User logged in');
 * await shipper.close(); // on shutdown
 * ```
 */
export function httpBatchTransport(options: HttpBatchTransportOptions): LogTransport {
  if (options === null || typeof options !== 'object') throw new TypeError('@vigil/logging: httpBatchTransport needs options ({ url })');
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError(`@vigil/logging: httpBatchTransport url must be an absolute http(s) URL, got ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`@vigil/logging: httpBatchTransport url must be http(s), got ${url.protocol}`);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.headers !== undefined) {
    if (options.headers === null || typeof options.headers !== 'object') throw new TypeError('@vigil/logging: httpBatchTransport headers must be an object of strings');
    for (const [name, value] of Object.entries(options.headers)) {
      if (typeof value !== 'string') throw new TypeError(`@vigil/logging: httpBatchTransport header "${name}" must be a string`);
      headers[name.toLowerCase()] = value;
    }
  }
  const opts = normaliseBatchOptions(options, 'httpBatchTransport');
  const target = url.toString();

  async function send(lines: string[]): Promise<void> {
    let body = '{"logs":[';
    for (let i = 0; i < lines.length; i++) body += (i === 0 ? '' : ',') + asJsonObject(lines[i]);
    body += ']}';
    let response: Response;
    try {
      response = await fetch(target, { method: 'POST', headers, body, signal: AbortSignal.timeout(opts.timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new RetryableError(`${error instanceof Error ? error.message : String(error)}${cause ? ` (${cause})` : ''}`);
    }
    // drain the body so the connection can be reused
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    const text = `HTTP ${response.status} from the log aggregator`;
    if (isRetryableStatus(response.status)) throw new RetryableError(text);
    throw new Error(text);
  }

  const shipper = new BatchShipper('http-batch', send, opts);
  const close = shipper.close.bind(shipper);
  shipper.close = async (timeoutMs?: number) => {
    await close(timeoutMs);
    noteTransport(shipper, false);
  };
  noteTransport(shipper, true);
  return shipper;
}
