import { Client } from '@elastic/elasticsearch';
import { createLogger, elasticsearchTransport, searchLogs } from '../src';
import { FakeElasticsearch } from './fake-backends';
import { sleep, until } from './helpers';

/** The outage is 10 s; VIGIL_LOG_OUTAGE_MS shortens it for quick local runs. */
const OUTAGE_MS = Number(process.env.VIGIL_LOG_OUTAGE_MS ?? 10_000);
const discard = { write: (): void => undefined };

function today(): string {
  const iso = new Date().toISOString();
  return `logs-${iso.slice(0, 4)}.${iso.slice(5, 7)}.${iso.slice(8, 10)}`;
}

/** Collects the transport's warnings; `total()` adds up the "dropped N log lines" counts. */
function warnings(): { warn: (message: string, code: string) => void; total: () => number; rejected: string[] } {
  const counts: number[] = [];
  const rejected: string[] = [];
  return {
    warn: (message, code) => {
      if (code === 'VIGIL_LOGS_REJECTED') rejected.push(message);
      const m = /dropped (\d+) log line/.exec(message);
      if (code === 'VIGIL_LOGS_DROPPED' && m) counts.push(Number(m[1]));
    },
    total: () => counts.reduce((a, b) => a + b, 0),
    rejected,
  };
}

describe('elasticsearchTransport', () => {
  let es: FakeElasticsearch;

  beforeEach(async () => {
    es = await new FakeElasticsearch().start();
  });

  afterEach(async () => {
    await es.stop();
  });

  it('talks to the loopback node like to Elasticsearch (info and product check)', async () => {
    const client = new Client({ node: es.url });
    const info = await client.info();
    expect(info.tagline).toBe('You Know, for Search');
    await client.close();
  });

  it('ships 5,000 lines in order through the bulk API to logs-YYYY.MM.DD', async () => {
    const transport = elasticsearchTransport({ node: es.url, batchSize: 500, flushIntervalMs: 100 });
    const logger = createLogger({ service: 'user-service', destination: discard, transports: [transport] });
    for (let i = 0; i < 5000; i++) logger.info({ seq: i, database: 'users_db' }, `line ${i}`);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    expect(es.docs).toHaveLength(5000);
    expect(es.docs.map((d) => d.source.seq)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(new Set(es.docs.map((d) => d.index))).toEqual(new Set([today()]));
    const first = es.docs[0].source;
    expect(first).toMatchObject({ level: 'info', service: 'user-service', message: 'line 0', database: 'users_db' });
    expect(first['@timestamp']).toBe(first.timestamp);
    expect(es.bulkRequests).toBeGreaterThanOrEqual(10);
    expect([...es.contentTypes].every((t) => t.includes('x-ndjson'))).toBe(true);
    expect(transport.stats).toMatchObject({ received: 5000, sent: 5000, dropped: 0, rejected: 0, buffered: 0 });
    await transport.close();
  });

  it(`keeps every line within the buffer through a ${OUTAGE_MS / 1000} s outage and counts drops exactly`, async () => {
    const seen = warnings();
    const transport = elasticsearchTransport({
      node: es.url,
      warn: seen.warn,
      batchSize: 250,
      flushIntervalMs: 100,
      maxBufferLines: 2000,
      retryInitialDelayMs: 50,
      retryMaxDelayMs: 1000,
      warnIntervalMs: 200,
      timeoutMs: 2000,
    });
    const logger = createLogger({ service: 'user-service', destination: discard, transports: [transport] });
    try {
      for (let i = 0; i < 2500; i += 250) {
        for (let j = i; j < i + 250; j++) logger.info({ seq: j }, `line ${j}`);
        await until(() => transport.stats.buffered < 1000, 20_000, 'room in the buffer');
      }
      await until(() => transport.stats.sent === 2500, 20_000, 'first half delivered');
      expect(transport.stats.dropped).toBe(0);

      await es.refuse();
      const outageStart = Date.now();
      for (let i = 2500; i < 5000; i += 250) {
        for (let j = i; j < i + 250; j++) logger.info({ seq: j }, `line ${j}`);
        await sleep(50);
      }
      expect(transport.stats.buffered).toBe(2000);
      expect(transport.stats.dropped).toBe(500);
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStart)));
      expect(es.docs).toHaveLength(2500);
      expect(transport.stats.retries).toBeGreaterThan(0);
      expect(transport.stats.lastError).toBeDefined();

      await es.start();
      await until(() => transport.stats.sent === 4500, 30_000, 'buffered lines delivered after the outage');
      expect(es.docs.map((d) => d.source.seq)).toEqual(Array.from({ length: 4500 }, (_, i) => i));
      expect(transport.stats).toMatchObject({ received: 5000, sent: 4500, dropped: 500, buffered: 0 });
      await until(() => seen.total() === 500, 5000, 'a warning saying 500 lines were dropped');
    } finally {
      await transport.close(1000);
    }
  }, 60_000);

  it('retries 429/5xx answers and items, and rejects items Elasticsearch refuses for good', async () => {
    const seen = warnings();
    const transport = elasticsearchTransport({ node: es.url, batchSize: 10, flushIntervalMs: 50, retryInitialDelayMs: 20, retryMaxDelayMs: 100, warn: seen.warn });
    try {
      es.failNext = 2;
      es.failStatus = 429;
      for (let i = 0; i < 10; i++) transport.write(`{"level":"info","timestamp":"2026-11-25T10:00:00.000Z","seq":${i},"message":"m${i}"}\n`);
      await transport.flush();
      expect(es.docs.map((d) => d.source.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(es.docs[0].index).toBe('logs-2026.11.25');
      expect(transport.stats.retries).toBe(2);

      es.itemStatuses = { 0: 429, 1: 400, 2: 503 };
      for (let i = 10; i < 15; i++) transport.write(`{"level":"info","timestamp":"2026-11-25T10:00:00.000Z","seq":${i},"message":"m${i}"}\n`);
      await transport.flush();
      expect(es.docs.slice(10).map((d) => d.source.seq).sort((a, b) => a - b)).toEqual([10, 12, 13, 14]);
      expect(transport.stats).toMatchObject({ received: 15, sent: 14, rejected: 1, dropped: 0, buffered: 0 });
      expect(seen.rejected).toHaveLength(1);
      expect(seen.rejected[0]).toContain('1 log line rejected: document_parsing_exception');
    } finally {
      await transport.close();
    }
  });

  it('adds @timestamp to lines from other loggers and wraps plain text', async () => {
    const transport = elasticsearchTransport({ node: es.url, index: 'app', flushIntervalMs: 50 });
    transport.write('{"level":30,"time":1764064800000,"msg":"from plain pino"}\n');
    transport.write('not json at all\n');
    await transport.flush();
    expect(es.docs[0]).toEqual({ index: 'app-2025.11.25', source: { '@timestamp': '2025-11-25T10:00:00.000Z', level: 30, time: 1764064800000, msg: 'from plain pino' } });
    expect(es.docs[1].source.message).toBe('not json at all');
    expect(es.docs[1].index).toMatch(/^app-\d{4}\.\d{2}\.\d{2}$/);
    await transport.close();
  });

  it('drops and counts what is still buffered when closed during an outage', async () => {
    const seen = warnings();
    const transport = elasticsearchTransport({ node: es.url, batchSize: 5, flushIntervalMs: 50, retryInitialDelayMs: 20, retryMaxDelayMs: 50, warnIntervalMs: 10_000, warn: seen.warn });
    {
      await es.refuse();
      for (let i = 0; i < 12; i++) transport.write(`{"timestamp":"2026-11-25T10:00:00.000Z","seq":${i}}\n`);
      await transport.close(300);
      expect(transport.stats).toMatchObject({ received: 12, sent: 0, dropped: 12, buffered: 0 });
      transport.write('{"late":true}\n');
      expect(transport.stats.dropped).toBe(13);
      expect(seen.total()).toBe(12);
    }
  });

  it('searchLogs runs the guide query: match on message, newest first, size', async () => {
    const transport = elasticsearchTransport({ node: es.url, flushIntervalMs: 50 });
    const logger = createLogger({ service: 'user-service', destination: discard, transports: [transport] });
    logger.error({ error_code: 'DB_CONN_TIMEOUT' }, 'Database connection failed');
    await sleep(5);
    logger.info('User logged in');
    await sleep(5);
    logger.error({ error_code: 'DB_CONN_REFUSED' }, 'Database connection failed again');
    await transport.flush();
    const client = new Client({ node: es.url });
    const found = await searchLogs(client, 'Database connection failed', { size: 10 });
    expect(es.searches[0]).toEqual({
      path: '/logs-*/_search',
      query: { bool: { must: [{ match: { message: 'Database connection failed' } }] } },
      sort: [{ '@timestamp': 'desc' }],
      size: 10,
    });
    expect(found.map((d) => d.error_code)).toEqual(['DB_CONN_REFUSED', 'DB_CONN_TIMEOUT']);
    await client.close();
    await transport.close();
  });

  it('throws a precise TypeError for bad options', () => {
    expect(() => elasticsearchTransport({})).toThrow(/node as an http\(s\) URL/);
    expect(() => elasticsearchTransport({ node: 'http://x:9200', index: 'Logs' })).toThrow(/lower-case/);
    expect(() => elasticsearchTransport({ node: 'http://x:9200', batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => elasticsearchTransport({ node: 'http://x:9200', batchSize: 100, maxBufferLines: 10 })).toThrow(/maxBufferLines/);
  });
});
