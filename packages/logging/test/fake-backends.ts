/**
 * Loopback stand-ins for the log backends, on 127.0.0.1 and an ephemeral port:
 * - an Elasticsearch node implementing the info (`GET /`, `HEAD /`), `_bulk` and `_search`
 *   endpoints as Elasticsearch documents them, with the `x-elastic-product: Elasticsearch` header
 *   the official client checks;
 * - a log aggregator accepting `POST /api/logs` with `{ "logs": [...] }`.
 * Both can refuse connections for a while (the listening socket is closed, then reopened on the
 * same port) and answer with an error status for the next N requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

abstract class LoopbackServer {
  port = 0;
  /** Answer the next N requests to the data endpoint with `failStatus`. */
  failNext = 0;
  failStatus = 503;
  requests = 0;
  private server: http.Server;

  constructor() {
    this.server = this.create();
  }

  private create(): http.Server {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    server.keepAliveTimeout = 1000;
    return server;
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and cuts every open connection: clients get ECONNREFUSED until `start()`. */
  async refuse(): Promise<void> {
    const closed = new Promise((r) => this.server.close(r));
    this.server.closeAllConnections();
    await closed;
    this.server = this.create();
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise((r) => this.server.close(r));
    this.server.closeAllConnections();
    await closed;
  }
}

export interface IndexedDoc {
  index: string;
  source: Record<string, any>;
}

const ES_HEADERS = {
  'content-type': 'application/vnd.elasticsearch+json;compatible-with=9',
  'x-elastic-product': 'Elasticsearch',
};

/** Enough of Elasticsearch for the client and the transport. */
export class FakeElasticsearch extends LoopbackServer {
  readonly docs: IndexedDoc[] = [];
  readonly searches: Record<string, any>[] = [];
  /** Per-item status for the next bulk request's items (by position), e.g. `{ 0: 429, 1: 400 }`. */
  itemStatuses: Record<number, number> | undefined = undefined;
  bulkRequests = 0;
  contentTypes = new Set<string>();

  protected handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    this.requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, payload: unknown): void => {
      res.writeHead(status, ES_HEADERS);
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(payload));
    };
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      send(200, {
        name: 'loopback-node',
        cluster_name: 'vigil-test',
        cluster_uuid: 'x8Sx2C3sQm2m1ZQ7pQ4Ezw',
        version: { number: '9.1.0', build_flavor: 'default', build_type: 'tar', lucene_version: '10.2.2', minimum_wire_compatibility_version: '8.19.0', minimum_index_compatibility_version: '8.0.0' },
        tagline: 'You Know, for Search',
      });
      return;
    }
    if (url.pathname.endsWith('/_bulk') && (req.method === 'POST' || req.method === 'PUT')) {
      this.bulkRequests++;
      this.contentTypes.add(String(req.headers['content-type']));
      if (this.failNext > 0) {
        this.failNext--;
        send(this.failStatus, { error: { type: 'es_rejected_execution_exception', reason: 'loopback failure' }, status: this.failStatus });
        return;
      }
      const defaultIndex = url.pathname === '/_bulk' ? undefined : decodeURIComponent(url.pathname.split('/')[1]);
      const lines = body.split('\n');
      if (lines[lines.length - 1] !== '') {
        send(400, { error: { type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' }, status: 400 });
        return;
      }
      const items: Record<string, unknown>[] = [];
      const statuses = this.itemStatuses;
      this.itemStatuses = undefined;
      let errors = false;
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const action = JSON.parse(lines[i]) as Record<string, { _index?: string }>;
        const [op] = Object.keys(action);
        const index = action[op]._index ?? defaultIndex ?? 'missing';
        const position = i / 2;
        const status = statuses?.[position] ?? 201;
        if (status >= 300) {
          errors = true;
          items.push({ [op]: { _index: index, status, error: { type: status === 429 ? 'es_rejected_execution_exception' : 'document_parsing_exception', reason: `loopback status ${status}` } } });
          continue;
        }
        const source = JSON.parse(lines[i + 1]) as Record<string, any>;
        this.docs.push({ index, source });
        items.push({ [op]: { _index: index, _id: String(this.docs.length), _version: 1, result: 'created', _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: this.docs.length - 1, _primary_term: 1, status } });
      }
      send(200, { took: 1, errors, items });
      return;
    }
    if (url.pathname.endsWith('/_search') && (req.method === 'POST' || req.method === 'GET')) {
      const query = JSON.parse(body || '{}') as Record<string, any>;
      this.searches.push({ path: url.pathname, ...query });
      const pattern = decodeURIComponent(url.pathname.split('/')[1]);
      const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
      const words = String(query.query?.bool?.must?.[0]?.match?.message ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      const hits = this.docs
        .filter((d) => d.index.startsWith(prefix))
        .filter((d) => words.some((w) => String(d.source.message ?? '').toLowerCase().split(/\W+/).includes(w)))
        .sort((a, b) => String(b.source['@timestamp']).localeCompare(String(a.source['@timestamp'])))
        .slice(0, query.size ?? 10);
      send(200, {
        took: 1,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: { total: { value: hits.length, relation: 'eq' }, max_score: null, hits: hits.map((d, i) => ({ _index: d.index, _id: String(i), _score: null, _source: d.source, sort: [d.source['@timestamp']] })) },
      });
      return;
    }
    send(404, { error: { type: 'unknown', reason: `no handler for ${req.method} ${url.pathname}` }, status: 404 });
  }
}

/** The guide's log aggregator: `POST /api/logs` with `{ "logs": [...] }`. */
export class FakeAggregator extends LoopbackServer {
  readonly logs: Record<string, any>[] = [];
  batches = 0;

  protected handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    this.requests++;
    if (req.url !== '/api/logs' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    if (this.failNext > 0) {
      this.failNext--;
      res.writeHead(this.failStatus).end('failing');
      return;
    }
    const parsed = JSON.parse(body) as { logs?: unknown };
    if (!Array.isArray(parsed.logs)) {
      res.writeHead(400).end('no logs array');
      return;
    }
    this.batches++;
    for (const entry of parsed.logs) this.logs.push(entry as Record<string, any>);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  }
}
