import type { Client } from '@elastic/elasticsearch';

type ElasticModule = typeof import('@elastic/elasticsearch');
let elastic: ElasticModule | undefined;

/** The client library, loaded on first use: importing @vigil/logging does not load it. */
function elasticsearch(): ElasticModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  elastic ??= require('@elastic/elasticsearch') as ElasticModule;
  return elastic;
}
import { BatchShipper, normaliseBatchOptions, RetryableError, type DeliveryResult } from './batch-shipper';
import { noteTransport } from './package-info';
import type { ElasticsearchTransportOptions, LogTransport } from './types';

const TIMESTAMP_KEY = '"timestamp":"';
const BULK_FILTER = ['errors', 'items.*.status', 'items.*.error'];
const ISO_LENGTH = 24; // 2026-11-25T10:00:00.000Z

/** `true` for a status worth retrying: throttled, timed out or a server-side failure. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/** The line's ISO timestamp, read without parsing when the line comes from `createLogger`. */
function timestampOf(doc: string): string | undefined {
  const at = doc.indexOf(TIMESTAMP_KEY);
  if (at === -1 || at > 200) return undefined;
  const start = at + TIMESTAMP_KEY.length;
  const ts = doc.slice(start, start + ISO_LENGTH);
  return ts.length === ISO_LENGTH && ts.charCodeAt(4) === 45 && ts.charCodeAt(10) === 84 && ts.charCodeAt(23) === 90 ? ts : undefined;
}

/**
 * One bulk document for a line: the line itself with `@timestamp` added in front (Kibana's and the
 * guide's time field), and the line's ISO time. Lines from other pino loggers (`time` in epoch ms)
 * are parsed; anything that is not a JSON object is wrapped as `{ message }`.
 */
export function toDocument(line: string, now: () => number = Date.now): { doc: string; iso: string } {
  if (line.charCodeAt(0) === 123 /* { */) {
    const ts = timestampOf(line);
    if (ts !== undefined) {
      const rest = line.slice(1);
      return { doc: rest === '}' ? `{"@timestamp":"${ts}"}` : `{"@timestamp":"${ts}",${rest}`, iso: ts };
    }
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const existing = parsed['@timestamp'];
        let iso: string;
        if (typeof existing === 'string' && !Number.isNaN(Date.parse(existing))) iso = new Date(existing).toISOString();
        else if (typeof parsed.time === 'number') iso = new Date(parsed.time).toISOString();
        else if (typeof parsed.time === 'string' && !Number.isNaN(Date.parse(parsed.time))) iso = new Date(parsed.time).toISOString();
        else iso = new Date(now()).toISOString();
        if (existing === undefined) return { doc: JSON.stringify({ '@timestamp': iso, ...parsed }), iso };
        return { doc: line, iso };
      }
    } catch {
      // not JSON: wrapped below
    }
  }
  const iso = new Date(now()).toISOString();
  return { doc: JSON.stringify({ '@timestamp': iso, message: line }), iso };
}

/** `logs-2026.11.25` for prefix `logs` and an ISO time on that UTC day. */
export function dailyIndex(prefix: string, iso: string): string {
  return `${prefix}-${iso.slice(0, 4)}.${iso.slice(5, 7)}.${iso.slice(8, 10)}`;
}

function validIndexPrefix(value: string): boolean {
  // Elasticsearch index names: lower case, no \ / * ? " < > | space , #, not starting with - _ +
  return value !== '' && value === value.toLowerCase() && !/[\\/*?"<>| ,#:]/.test(value) && !/^[-_+]/.test(value);
}

function errorText(error: unknown): string {
  const { errors } = elasticsearch();
  if (error instanceof errors.ResponseError) return `HTTP ${error.statusCode ?? '?'} ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

interface BulkItem {
  [action: string]: { status?: number; error?: { type?: string; reason?: string } } | undefined;
}

/**
 * Ships log lines to Elasticsearch with the bulk API through the official `@elastic/elasticsearch`
 * client: date-based indices (`logs-2026.11.25` by default, the date of each line), a bounded
 * buffer, batches by size and interval, one request in flight so lines arrive in order. When
 * Elasticsearch is down or answers 429/5xx (for the whole request or single items), the batch is
 * retried with exponential backoff until it is back; lines beyond the buffer are dropped, counted
 * in `stats.dropped`, and a process warning says how many. Each document gets `@timestamp` (the
 * line's `timestamp`) for Kibana. Give it to `createLogger({ transports: [...] })`; call
 * `close()` on shutdown.
 *
 * @example
 * ```ts
 * import { createLogger, elasticsearchTransport } from '@vigil/logging';
 *
 * const es = elasticsearchTransport({ node: 'http://localhost:9200', index: 'logs', maxBufferLines: 50_000 });
 * const logger = createLogger({ service: 'user-service', transports: [es] });
 * logger.error({ error_code: 'DB_CONN_TIMEOUT', database: 'users_db' }, 'Database connection failed');
 * // on shutdown:
 * await es.close();
 * ```
 */
export function elasticsearchTransport(options: ElasticsearchTransportOptions): LogTransport {
  if (options === null || typeof options !== 'object') throw new TypeError('@vigil/logging: elasticsearchTransport needs options ({ node } or { client })');
  const opts = normaliseBatchOptions(options, 'elasticsearchTransport');
  const index = options.index ?? 'logs';
  if (typeof index === 'string' && !validIndexPrefix(index)) {
    throw new TypeError(`@vigil/logging: elasticsearchTransport index must be a valid lower-case index name prefix, got ${JSON.stringify(index)}`);
  }
  if (typeof index !== 'string' && typeof index !== 'function') throw new TypeError('@vigil/logging: elasticsearchTransport index must be a string prefix or a function');
  if (options.pipeline !== undefined && (typeof options.pipeline !== 'string' || options.pipeline === '')) {
    throw new TypeError('@vigil/logging: elasticsearchTransport pipeline must be a non-empty string');
  }
  let client: Client;
  if (options.client !== undefined) {
    if (options.client === null || typeof (options.client as Client).bulk !== 'function') throw new TypeError('@vigil/logging: client must be an @elastic/elasticsearch Client');
    client = options.client;
  } else {
    const nodes = Array.isArray(options.node) ? options.node : [options.node];
    if (nodes.length === 0 || nodes.some((n) => typeof n !== 'string' || !/^https?:\/\//.test(n))) {
      throw new TypeError(`@vigil/logging: elasticsearchTransport needs node as an http(s) URL (or a client), got ${JSON.stringify(options.node)}`);
    }
    // the transport retries with backoff itself, so the client makes exactly one attempt per call
    const { Client: ElasticClient } = elasticsearch();
    client = new ElasticClient({ node: nodes as string[], auth: options.auth, maxRetries: 0, requestTimeout: opts.timeoutMs, compression: false });
  }

  let lastDay = '';
  let lastIndex = '';
  const indexFor =
    typeof index === 'function'
      ? index
      : (iso: string): string => {
          const day = iso.slice(0, 10);
          if (day !== lastDay) {
            lastDay = day;
            lastIndex = dailyIndex(index, iso);
          }
          return lastIndex;
        };
  const pipeline = options.pipeline;
  const requestOptions = { maxRetries: 0, requestTimeout: opts.timeoutMs };

  async function send(lines: string[]): Promise<DeliveryResult> {
    let body = '';
    for (let i = 0; i < lines.length; i++) {
      const { doc, iso } = toDocument(lines[i]);
      body += `{"index":{"_index":${JSON.stringify(indexFor(iso))}}}\n${doc}\n`;
    }
    let response: { errors?: boolean; items?: BulkItem[] };
    try {
      // the body is already NDJSON: the client sends a string as it is
      // filter_path keeps the answer small: only what decides success, retry or rejection per item
      const params = { operations: body as never, filter_path: BULK_FILTER, ...(pipeline === undefined ? {} : { pipeline }) };
      response = (await client.bulk(params, requestOptions)) as unknown as { errors?: boolean; items?: BulkItem[] };
    } catch (error) {
      const { errors } = elasticsearch();
      if (error instanceof errors.ResponseError) {
        const status = error.statusCode ?? 0;
        if (isRetryableStatus(status)) throw new RetryableError(errorText(error));
        throw new Error(errorText(error));
      }
      if (error instanceof errors.ProductNotSupportedError || error instanceof errors.ConfigurationError || error instanceof errors.SerializationError) {
        throw new Error(errorText(error));
      }
      // connection refused or reset, timeouts, no living connections: the cluster is away for now
      throw new RetryableError(errorText(error));
    }
    if (response.errors !== true || !Array.isArray(response.items)) return {};
    const retry: number[] = [];
    let rejected = 0;
    let reason: string | undefined;
    let retryReason: string | undefined;
    for (let i = 0; i < response.items.length; i++) {
      const item = response.items[i];
      const result = item.index ?? item.create ?? Object.values(item)[0];
      const status = result?.status ?? 0;
      if (status >= 200 && status < 300) continue;
      const why = `${result?.error?.type ?? 'error'}: ${result?.error?.reason ?? `status ${status}`}`;
      if (isRetryableStatus(status)) {
        retry.push(i);
        retryReason ??= why;
      } else {
        rejected++;
        reason ??= why;
      }
    }
    return { retry, rejected, reason, retryReason };
  }

  const shipper = new BatchShipper('elasticsearch', send, opts);
  const close = shipper.close.bind(shipper);
  shipper.close = async (timeoutMs?: number) => {
    await close(timeoutMs);
    noteTransport(shipper, false);
    if (options.client === undefined) await client.close().catch(() => undefined);
  };
  noteTransport(shipper, true);
  return shipper;
}
