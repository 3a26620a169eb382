import { createLogger, httpBatchTransport } from '../src';
import { FakeAggregator } from './fake-backends';
import { sleep, until } from './helpers';

/** The outage is 10 s; VIGIL_LOG_OUTAGE_MS shortens it for quick local runs. */
const OUTAGE_MS = Number(process.env.VIGIL_LOG_OUTAGE_MS ?? 10_000);
const discard = { write: (): void => undefined };

describe('httpBatchTransport', () => {
  let aggregator: FakeAggregator;

  beforeEach(async () => {
    aggregator = await new FakeAggregator().start();
  });

  afterEach(async () => {
    await aggregator.stop();
  });

  it('POSTs { "logs": [...] } batches, in order, by size and by interval', async () => {
    const transport = httpBatchTransport({ url: `${aggregator.url}/api/logs`, batchSize: 100, flushIntervalMs: 100, timeoutMs: 2000 });
    const logger = createLogger({ service: 'checkout', destination: discard, transports: [transport] });
    for (let i = 0; i < 1050; i++) logger.info({ seq: i, user_id: 123 }, 'User logged in');
    await until(() => transport.stats.sent === 1050, 10_000, 'all lines sent');
    expect(aggregator.logs.map((l) => l.seq)).toEqual(Array.from({ length: 1050 }, (_, i) => i));
    expect(aggregator.logs[0]).toMatchObject({ level: 'info', service: 'checkout', message: 'User logged in', user_id: 123 });
    expect(aggregator.batches).toBe(11);
    await transport.close();
  });

  it(`keeps every line within the buffer through a ${OUTAGE_MS / 1000} s outage and counts drops exactly`, async () => {
    const dropped: number[] = [];
    const transport = httpBatchTransport({
      url: `${aggregator.url}/api/logs`,
      batchSize: 250,
      flushIntervalMs: 100,
      maxBufferLines: 2000,
      retryInitialDelayMs: 50,
      retryMaxDelayMs: 1000,
      timeoutMs: 2000,
      warnIntervalMs: 200,
      warn: (message, code) => {
        const m = /dropped (\d+) log line/.exec(message);
        if (code === 'VIGIL_LOGS_DROPPED' && m) dropped.push(Number(m[1]));
      },
    });
    const logger = createLogger({ service: 'checkout', destination: discard, transports: [transport] });
    try {
      for (let i = 0; i < 2500; i += 250) {
        for (let j = i; j < i + 250; j++) logger.info({ seq: j }, `line ${j}`);
        await until(() => transport.stats.buffered < 1000, 20_000, 'room in the buffer');
      }
      await until(() => transport.stats.sent === 2500, 20_000, 'first half delivered');

      await aggregator.refuse();
      const outageStart = Date.now();
      for (let i = 2500; i < 5000; i += 250) {
        for (let j = i; j < i + 250; j++) logger.info({ seq: j }, `line ${j}`);
        await sleep(50);
      }
      expect(transport.stats).toMatchObject({ buffered: 2000, dropped: 500 });
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStart)));
      expect(aggregator.logs).toHaveLength(2500);
      expect(transport.stats.retries).toBeGreaterThan(0);

      await aggregator.start();
      await until(() => transport.stats.sent === 4500, 30_000, 'buffered lines delivered after the outage');
      expect(aggregator.logs.map((l) => l.seq)).toEqual(Array.from({ length: 4500 }, (_, i) => i));
      expect(transport.stats).toMatchObject({ received: 5000, sent: 4500, dropped: 500, buffered: 0 });
      await until(() => dropped.reduce((a, b) => a + b, 0) === 500, 5000, 'a warning saying 500 lines were dropped');
    } finally {
      await transport.close(1000);
    }
  }, 60_000);

  it('retries 5xx and 429 answers, rejects other 4xx answers', async () => {
    const rejected: string[] = [];
    const transport = httpBatchTransport({
      url: `${aggregator.url}/api/logs`,
      batchSize: 5,
      flushIntervalMs: 50,
      retryInitialDelayMs: 20,
      retryMaxDelayMs: 100,
      warn: (message, code) => {
        if (code === 'VIGIL_LOGS_REJECTED') rejected.push(message);
      },
    });
    aggregator.failNext = 2;
    aggregator.failStatus = 503;
    for (let i = 0; i < 5; i++) transport.write(`{"seq":${i}}\n`);
    await transport.flush();
    expect(aggregator.logs.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(transport.stats.retries).toBe(2);

    aggregator.failNext = 1;
    aggregator.failStatus = 413;
    for (let i = 5; i < 10; i++) transport.write(`{"seq":${i}}\n`);
    transport.write('plain text line\n');
    await transport.flush();
    expect(transport.stats).toMatchObject({ received: 11, sent: 6, rejected: 5, dropped: 0, buffered: 0 });
    expect(rejected[0]).toContain('HTTP 413');
    expect(aggregator.logs[aggregator.logs.length - 1]).toEqual({ message: 'plain text line' });
    await transport.close();
  });

  it('throws a precise TypeError for bad options', () => {
    expect(() => httpBatchTransport({ url: 'log-aggregator:8080' })).toThrow(/http\(s\)/);
    expect(() => httpBatchTransport({ url: 'http://x/api/logs', flushIntervalMs: -1 })).toThrow(/flushIntervalMs/);
    expect(() => httpBatchTransport({ url: 'http://x/api/logs', headers: { a: 1 as never } })).toThrow(/header "a"/);
  });
});
