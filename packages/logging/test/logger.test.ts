import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { registeredPackage, setTraceIdsReader } from '@vigil/core';
import { createLogger, httpBatchTransport } from '../src';
import type { LoggingSnapshot, LogTransport, TransportStats } from '../src';
import { FakeAggregator } from './fake-backends';
import { Collector } from './helpers';

/** Runs `fn` with a new temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => unknown): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-logging-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `seq` field of every line of a log file. */
function seqsIn(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
}

describe('createLogger', () => {
  it('writes timestamp (ISO 8601), level as a word, service, message and the fields passed', () => {
    const out = new Collector();
    const logger = createLogger({ service: 'order-service', destination: out, base: { env: 'test' } });
    logger.info({ user_id: 123, order_id: 'ORD-456', total: 99.99, request_id: 'req-789' }, 'Order created');
    const [line] = out.records();
    expect(Object.keys(line).slice(0, 2)).toEqual(['level', 'timestamp']);
    expect(line).toEqual({
      level: 'info',
      timestamp: expect.any(String),
      service: 'order-service',
      env: 'test',
      user_id: 123,
      order_id: 'ORD-456',
      total: 99.99,
      request_id: 'req-789',
      message: 'Order created',
    });
    expect(new Date(line.timestamp).toISOString()).toBe(line.timestamp);
    expect(out.text().endsWith('\n')).toBe(true);
  });

  it('serialises errors with type, message and stack (as err, error or the first argument)', () => {
    const out = new Collector();
    const logger = createLogger({ service: 'order-service', destination: out });
    const cause = new RangeError('card limit');
    logger.error({ err: new Error('Order processing failed', { cause }), order_id: 'ORD-456' }, 'Order processing failed');
    logger.error({ error: Object.assign(new TypeError('bad'), { code: 'E_BAD' }) }, 'second');
    logger.error(new SyntaxError('third'));
    const [a, b, c] = out.records();
    expect(a.err).toMatchObject({ type: 'Error', message: 'Order processing failed', cause: { type: 'RangeError', message: 'card limit' } });
    expect(a.err.stack).toContain('Order processing failed');
    expect(b.error).toMatchObject({ type: 'TypeError', message: 'bad', code: 'E_BAD' });
    expect(c).toMatchObject({ level: 'error', message: 'third', err: { type: 'SyntaxError', message: 'third' } });
  });

  it('adds trace ids of the active span outside requests too, and nothing when there is none', () => {
    const out = new Collector();
    const logger = createLogger({ service: 's', destination: out });
    logger.info('no span');
    setTraceIdsReader(() => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }));
    try {
      logger.child({ job: 'nightly' }).info('in a span');
    } finally {
      setTraceIdsReader(undefined);
    }
    const [plain, traced] = out.records();
    expect(plain.trace_id).toBeUndefined();
    expect(plain.request_id).toBeUndefined();
    expect(traced).toMatchObject({ job: 'nightly', trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' });
  });

  it('honours the level and pino redact paths', () => {
    const out = new Collector();
    const logger = createLogger({ service: 's', destination: out, level: 'warn', redact: ['card.number'] });
    logger.info('hidden');
    logger.warn({ card: { number: '4111111111111111', brand: 'visa' } }, 'shown');
    const lines = out.records();
    expect(lines).toHaveLength(1);
    expect(lines[0].card).toEqual({ number: '[Redacted]', brand: 'visa' });
  });

  it('flush() returns a promise that waits for the transports', async () => {
    const aggregator = await new FakeAggregator().start();
    try {
      const transport = httpBatchTransport({ url: `${aggregator.url}/api/logs`, flushIntervalMs: 60_000 });
      const logger = createLogger({ service: 's', destination: new Collector(), transports: [transport] });
      for (let i = 0; i < 3; i++) logger.warn({ i }, 'pending');
      expect(aggregator.logs).toHaveLength(0);
      let called = false;
      await logger.flush(() => {
        called = true;
      });
      expect(called).toBe(true);
      expect(aggregator.logs.map((l) => l.i)).toEqual([0, 1, 2]);
      await transport.close();
    } finally {
      await aggregator.stop();
    }
  });

  it('gives up waiting after flushTimeoutMs when a transport cannot deliver', async () => {
    const stuck: LogTransport = {
      write: () => undefined,
      flush: () => new Promise<void>(() => undefined),
      close: async () => undefined,
      stats: {} as TransportStats,
    };
    const logger = createLogger({ service: 's', destination: new Collector(), transports: [stuck], flushTimeoutMs: 50 });
    await expect(logger.flush()).resolves.toBeUndefined();
  });

  it('announces itself in the core registry with transport counters', () => {
    const transport = httpBatchTransport({ url: 'http://127.0.0.1:9/api/logs' });
    createLogger({ service: 'registry-check', destination: new Collector(), transports: [transport] });
    const snap = registeredPackage('logging')?.snapshot?.() as LoggingSnapshot;
    expect(snap.services).toContain('registry-check');
    expect(snap.transports.some((t) => t.name === 'http-batch')).toBe(true);
    void transport.close(10);
  });

  it('writes to an asynchronous sonic-boom in order, and flush() writes everything', async () => {
    await inTempDir(async (dir) => {
      const file = path.join(dir, 'app.log');
      const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
      await new Promise((r) => destination.once('ready', r));
      const logger = createLogger({ service: 's', destination });
      for (let i = 0; i < 3000; i++) logger.info({ seq: i }, 'line');
      await logger.flush();
      expect(seqsIn(file)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
      destination.end();
    });
  });

  it('hands info lines to an asynchronous sonic-boom once per turn, and a warn line at once, in order', async () => {
    await inTempDir(async (dir) => {
      const file = path.join(dir, 'app.log');
      const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
      await new Promise((r) => destination.once('ready', r));
      const writes: string[] = [];
      const write = destination.write.bind(destination);
      destination.write = (chunk: string) => {
        writes.push(chunk);
        return write(chunk);
      };
      const logger = createLogger({ service: 's', destination });
      for (let i = 0; i < 20; i++) logger.info({ seq: i }, 'line');
      expect(writes).toHaveLength(0); // gathered for this turn
      logger.warn({ seq: 20 }, 'careful');
      expect(writes).toHaveLength(1); // the warn line, after everything gathered before it
      expect(writes[0].trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual(Array.from({ length: 21 }, (_, i) => i));
      logger.info({ seq: 21 }, 'line');
      await new Promise((r) => setImmediate(r));
      expect(writes).toHaveLength(2);
      await logger.flush();
      expect(seqsIn(file)).toEqual(Array.from({ length: 22 }, (_, i) => i));
      destination.end();
    });
  });

  it.each([0, 4096])('writes gathered lines out when the process exits in the same turn (minLength %i), and lines from exit listeners', async (minLength) => {
    await inTempDir(async (dir) => {
      const file = path.join(dir, 'exit.log');
      const register = path.join(__dirname, '..', '..', '..', 'scripts', 'test-support', 'ts-register.js');
      const run = spawnSync(process.execPath, ['-r', register, path.join(__dirname, 'fixtures', 'exit-after-logging.ts'), file, String(minLength)], { encoding: 'utf8', timeout: 30000 });
      expect(run.status).toBe(0);
      expect(seqsIn(file)).toEqual(Array.from({ length: 31 }, (_, i) => i));
    });
  });

  it('throws a precise TypeError for bad options', () => {
    expect(() => createLogger({} as never)).toThrow(/non-empty "service"/);
    expect(() => createLogger({ service: 's', level: 'loud' as never })).toThrow(/level must be one of/);
    expect(() => createLogger({ service: 's', transports: [{}] as never })).toThrow(/transports/);
    expect(() => createLogger({ service: 's', destination: {} as never })).toThrow(/destination/);
  });
});
