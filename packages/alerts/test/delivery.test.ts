import { setErrorHandler } from '@vigil/core';
import { DeliveryError } from '../src/index';
import { Outbox } from '../src/delivery';
import type { Channel, Notification } from '../src/types';
import { until } from './helpers/receiver';

function note(id: string): Notification {
  return { receiver: 'x', status: 'firing', alerts: [], groupLabels: { id }, commonLabels: {}, commonAnnotations: {}, groupKey: id, externalURL: '', truncatedAlerts: 0 };
}

const errors: unknown[] = [];
beforeEach(() => { errors.length = 0; setErrorHandler((_k, e) => errors.push(e)); });
afterEach(() => setErrorHandler(undefined));

describe('Outbox (the one delivery layer)', () => {
  it('retries a failing send with backoff until it succeeds, keeping order', async () => {
    const got: string[] = [];
    let failures = 3;
    const channel: Channel = {
      name: 'flaky', kind: 'test', delivery: { backoffMs: 10, maxBackoffMs: 50 },
      async send(n) {
        if (failures-- > 0) throw new Error('connection reset');
        got.push(n.groupKey);
      },
    };
    const box = new Outbox(channel);
    box.enqueue(note('a'));
    box.enqueue(note('b'));
    await box.idle();
    expect(got).toEqual(['a', 'b']);
    expect(box.stats).toEqual({ sent: 2, failed: 0, dropped: 0, retries: 3, queued: 0 });
  });

  it('gives up after maxAttempts and on non-retryable errors, and reports it', async () => {
    let calls = 0;
    const box = new Outbox({ name: 'down', kind: 'test', delivery: { backoffMs: 5, maxAttempts: 3 }, async send() { calls++; throw new Error('503'); } });
    box.enqueue(note('a'));
    await box.idle();
    expect(calls).toBe(3);
    expect(box.stats).toMatchObject({ sent: 0, failed: 1, retries: 2 });

    calls = 0;
    const bad = new Outbox({ name: 'bad', kind: 'test', async send() { calls++; throw new DeliveryError('400 invalid', { status: 400, retryable: false }); } });
    bad.enqueue(note('a'));
    await bad.idle();
    expect(calls).toBe(1);
    expect(bad.stats).toMatchObject({ failed: 1, retries: 0 });
    expect(errors.map(String)).toEqual(['Error: 503', 'DeliveryError: 400 invalid']);
  });

  it('counts a notification that reached some of its recipients as sent when it gives up, and reports the rest', async () => {
    let calls = 0;
    const box = new Outbox({
      name: 'mail', kind: 'test', delivery: { backoffMs: 5, maxAttempts: 2 },
      async send() { calls++; throw new DeliveryError('1 recipient(s) refused: b@x.test (450 busy)', { retryable: true, partial: true }); },
    });
    box.enqueue(note('a'));
    await box.idle();
    expect(calls).toBe(2);
    expect(box.stats).toMatchObject({ sent: 1, failed: 0, retries: 1 });
    expect(errors.map(String)).toEqual(['DeliveryError: 1 recipient(s) refused: b@x.test (450 busy)']);
  });

  it('times out a send that never answers (even one that ignores its AbortSignal)', async () => {
    let aborted = 0;
    const box = new Outbox({
      name: 'hung', kind: 'test', delivery: { timeoutMs: 50, maxAttempts: 2, backoffMs: 5 },
      send(_n, signal) {
        signal.addEventListener('abort', () => aborted++);
        return new Promise(() => undefined);
      },
    });
    box.enqueue(note('a'));
    await box.idle();
    expect(aborted).toBe(2);
    expect(box.stats).toMatchObject({ failed: 1, retries: 1 });
    expect(String(errors[0])).toMatch(/timed out after 50 ms/);
  });

  it('bounds the outbox: the oldest waiting notification is dropped and counted', async () => {
    let release: () => void = () => undefined;
    const got: string[] = [];
    const box = new Outbox({
      name: 'slow', kind: 'test', delivery: { maxQueue: 2 },
      async send(n) {
        if (n.groupKey === 'first') await new Promise<void>((r) => { release = r; });
        got.push(n.groupKey);
      },
    });
    for (const id of ['first', 'a', 'b', 'c', 'd']) box.enqueue(note(id));
    expect(box.stats).toMatchObject({ dropped: 2, queued: 3 });
    release();
    await box.idle();
    expect(got).toEqual(['first', 'c', 'd']);
  });

  it('isolates channels: a hung channel never delays another', async () => {
    const fast: string[] = [];
    const hung = new Outbox({ name: 'hung', kind: 'test', delivery: { timeoutMs: 60_000 }, send: () => new Promise(() => undefined) });
    const quick = new Outbox({ name: 'quick', kind: 'test', async send(n) { fast.push(n.groupKey); } });
    for (const id of ['1', '2', '3']) { hung.enqueue(note(id)); quick.enqueue(note(id)); }
    await until(() => fast.length === 3, 10_000, 'fast channel');
    expect(hung.stats.queued).toBe(3);
    expect(fast).toEqual(['1', '2', '3']);
  });

  it('waits at least Retry-After before retrying', async () => {
    const attempts: number[] = [];
    const box = new Outbox({
      name: 'limited', kind: 'test', delivery: { backoffMs: 1 },
      async send() {
        attempts.push(Date.now());
        if (attempts.length === 1) throw new DeliveryError('429', { status: 429, retryAfterMs: 300 });
      },
    });
    box.enqueue(note('a'));
    await box.idle();
    expect(attempts).toHaveLength(2);
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(290);
  });

  it('stops retrying and drops what waits once closed', async () => {
    let calls = 0;
    const box = new Outbox({ name: 'down', kind: 'test', delivery: { backoffMs: 200 }, async send() { calls++; throw new Error('503'); } });
    box.enqueue(note('a'));
    box.enqueue(note('b'));
    await until(() => box.stats.retries === 1, 10_000, 'first attempt failed, retry waiting');
    box.close();
    await box.idle();
    box.enqueue(note('c'));
    expect(calls).toBe(1);
    expect(box.stats).toMatchObject({ sent: 0, dropped: 3, queued: 0 });
  });

  it('rejects bad delivery options at construction', () => {
    expect(() => new Outbox({ name: 'x', kind: 'test', delivery: { maxQueue: 0 }, async send() {} })).toThrow(/delivery.maxQueue must be a positive integer/);
    expect(() => new Outbox({ name: 'x', kind: 'test', delivery: { timeoutMs: -1 }, async send() {} })).toThrow(/delivery.timeoutMs/);
  });
});
