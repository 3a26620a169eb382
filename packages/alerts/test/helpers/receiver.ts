import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One answer a receiver gives instead of accepting: a status, optional headers. */
export interface ScriptedFailure {
  status: number;
  headers?: Record<string, string>;
}

export interface Received {
  at: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/**
 * A loopback HTTP receiver. Every request body is parsed as JSON and checked with `validate`
 * (which throws on a schema violation: the request is answered 400 and the problem recorded).
 * `failNext` scripts answers (500, 429 with Retry-After, ...) for the next requests.
 */
export class Receiver {
  readonly accepted: Received[] = [];
  readonly rejected: Received[] = [];
  readonly schemaErrors: string[] = [];
  requests = 0;
  private readonly script: ScriptedFailure[] = [];
  private server: Server | undefined;
  url = '';

  constructor(private readonly validate: (body: unknown) => void, private readonly okStatus = 200, private readonly okBody: (body: unknown) => string = () => 'ok') {}

  failNext(...failures: ScriptedFailure[]): void {
    this.script.push(...failures);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => (this.server as Server).listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const arrived = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      const raw = Buffer.concat(chunks).toString('utf8');
      const entry: Received = { at: arrived, path: req.url ?? '', headers: req.headers, body: undefined };
      try {
        entry.body = JSON.parse(raw);
      } catch {
        this.schemaErrors.push(`not JSON: ${raw.slice(0, 100)}`);
        res.writeHead(400).end('invalid json');
        return;
      }
      if (req.headers['content-type'] !== 'application/json') this.schemaErrors.push(`content-type ${req.headers['content-type']}`);
      const failure = this.script.shift();
      if (failure !== undefined) {
        this.rejected.push(entry);
        res.writeHead(failure.status, failure.headers).end(failure.status === 429 ? 'rate_limited' : 'server_error');
        return;
      }
      try {
        this.validate(entry.body);
      } catch (error) {
        this.schemaErrors.push((error as Error).message);
        res.writeHead(400).end('invalid_payload');
        return;
      }
      this.accepted.push(entry);
      res.writeHead(this.okStatus, { 'content-type': 'application/json' }).end(this.okBody(entry.body));
    });
  }
}

/** Polls until `fn` returns true (generous timeout, for a loaded machine). */
export async function until(fn: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
