import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BatchShipper, normaliseBatchOptions, RetryableError } from '../src/batch-shipper';
import type { DeliveryResult, SendBatch } from '../src/batch-shipper';
import { createLogger } from '../src';
import type { BatchOptions, TransportStats } from '../src';
import { Collector, sleep, until } from './helpers';

/** A send whose requests stay in flight until the test answers them. */
function heldSend(): { send: SendBatch; batches: string[][]; answer: (outcome: DeliveryResult | Error) => void } {
  const batches: string[][] = [];
  const pending: Array<(outcome: DeliveryResult | Error) => void> = [];
  const send: SendBatch = (lines) => {
    batches.push(lines);
    return new Promise<DeliveryResult>((resolve, reject) => {
      pending.push((outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)));
    });
  };
  return { send, batches, answer: (outcome) => pending.shift()?.(outcome) };
}

function shipper(send: SendBatch, options: BatchOptions = {}): BatchShipper {
  return new BatchShipper('test', send, normaliseBatchOptions({ warn: () => undefined, ...options }, 'test'));
}

/** `true` when every line received is exactly one of sent, rejected, dropped or buffered. */
function accountedFor(stats: TransportStats): boolean {
  return stats.buffered >= 0 && stats.received === stats.sent + stats.rejected + stats.dropped + stats.buffered;
}

function writeLines(target: BatchShipper, count: number): void {
  for (let i = 0; i < count; i++) target.write(`{"seq":${i}}\n`);
}

/** The retry timer the shipper has pending, if any. */
function retryTimer(target: BatchShipper): NodeJS.Timeout | undefined {
  return target['retryTimer'];
}

describe('BatchShipper.close() with a batch in flight', () => {
  it('counts the batch once, as sent, when its request succeeds after close() gave up', async () => {
    const backend = heldSend();
    const transport = shipper(backend.send, { batchSize: 10 });
    writeLines(transport, 10);
    expect(backend.batches).toHaveLength(1);
    await transport.close(30);
    expect(transport.stats).toMatchObject({ received: 10, sent: 0, dropped: 0, buffered: 10 });
    backend.answer({});
    await until(() => transport.stats.buffered === 0, 2000, 'the batch in flight settled');
    expect(transport.stats).toMatchObject({ received: 10, sent: 10, dropped: 0, buffered: 0 });
    expect(accountedFor(transport.stats)).toBe(true);
  });

  it('drops the lines behind the batch at once, and the batch itself when its request fails afterwards, without retrying', async () => {
    const backend = heldSend();
    const warned: string[] = [];
    const transport = shipper(backend.send, { batchSize: 10, retryInitialDelayMs: 5, retryMaxDelayMs: 10, warn: (m) => warned.push(m) });
    writeLines(transport, 15);
    await transport.close(30);
    expect(transport.stats).toMatchObject({ received: 15, sent: 0, dropped: 5, buffered: 10 });
    expect(accountedFor(transport.stats)).toBe(true);
    backend.answer(new RetryableError('connection reset'));
    await until(() => transport.stats.buffered === 0, 2000, 'the batch in flight settled');
    await sleep(50);
    expect(backend.batches).toHaveLength(1);
    expect(transport.stats).toMatchObject({ received: 15, sent: 0, dropped: 15, buffered: 0, retries: 0 });
    expect(warned.join('\n')).toMatch(/dropped 10 log lines/);
  });

  it('drops only the lines a partial answer asks to retry', async () => {
    const backend = heldSend();
    const transport = shipper(backend.send, { batchSize: 4 });
    writeLines(transport, 4);
    await transport.close(30);
    backend.answer({ retry: [2, 3], rejected: 1, reason: 'mapping' });
    await until(() => transport.stats.buffered === 0, 2000, 'the batch in flight settled');
    expect(transport.stats).toMatchObject({ received: 4, sent: 1, rejected: 1, dropped: 2, buffered: 0 });
    expect(accountedFor(transport.stats)).toBe(true);
  });

  it('keeps a flush waiting for the batch in flight, not only for the lines dropped behind it', async () => {
    const backend = heldSend();
    const transport = shipper(backend.send, { batchSize: 10 });
    writeLines(transport, 10);
    const flushed = transport.flush();
    writeLines(transport, 5);
    await transport.close(30);
    let done = false;
    void flushed.then(() => (done = true));
    await sleep(20);
    expect(done).toBe(false);
    backend.answer({});
    await flushed;
    await expect(transport.flush()).resolves.toBeUndefined();
    expect(transport.stats).toMatchObject({ received: 15, sent: 10, dropped: 5, buffered: 0 });
  });
});

describe('flush() that gives up during an outage', () => {
  const down: SendBatch = async () => {
    throw new RetryableError('ECONNREFUSED');
  };

  it('flush(timeoutMs) resolves after timeoutMs and leaves the retries unref’d', async () => {
    const transport = shipper(down, { retryInitialDelayMs: 20, retryMaxDelayMs: 40 });
    try {
      writeLines(transport, 3);
      await transport.flush(100);
      expect(transport.stats.buffered).toBe(3);
      await until(() => retryTimer(transport) !== undefined, 2000, 'a retry pending');
      expect(retryTimer(transport)?.hasRef()).toBe(false);
      await sleep(120);
      await until(() => retryTimer(transport) !== undefined, 2000, 'a later retry pending');
      expect(retryTimer(transport)?.hasRef()).toBe(false);
    } finally {
      await transport.close(10);
    }
  });

  it('logger.flush() that timed out leaves the transport’s retries unref’d', async () => {
    const transport = shipper(down, { retryInitialDelayMs: 20, retryMaxDelayMs: 40 });
    try {
      const logger = createLogger({ service: 's', destination: new Collector(), transports: [transport], flushTimeoutMs: 100 });
      logger.info('one line');
      await logger.flush();
      await sleep(120);
      await until(() => retryTimer(transport) !== undefined, 2000, 'a retry pending');
      expect(retryTimer(transport)?.hasRef()).toBe(false);
    } finally {
      await transport.close(10);
    }
  });

  it('lets the process exit by itself after logger.flush() timed out with the backend down', () => {
    const register = path.join(__dirname, '..', '..', '..', 'scripts', 'test-support', 'ts-register.js');
    const run = spawnSync(process.execPath, ['-r', register, path.join(__dirname, 'fixtures', 'exit-after-flush-timeout.ts')], { encoding: 'utf8', timeout: 15000 });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/flushed/);
  });
});
