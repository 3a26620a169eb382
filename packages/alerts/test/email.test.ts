import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createAlerts, emailChannel, thresholdRule } from '../src/index';
import { manualClock } from './helpers/memory-channel';
import { until } from './helpers/receiver';

interface Mail { from: string; to: string[]; data: string }

describe('emailChannel (real SMTP server from the smtp-server package)', () => {
  const mails: Mail[] = [];
  let rejectNextRcpt = 0;
  let connections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, cb) { connections++; cb(); },
    onRcptTo(_address, _session, cb) {
      if (rejectNextRcpt > 0) {
        rejectNextRcpt--;
        const err = Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 });
        cb(err);
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends firing and resolved mails over one pooled connection, retrying a recipient refused with 451', async () => {
    const clock = manualClock(Date.now());
    let depth = 50;
    const channel = emailChannel({
      host: '127.0.0.1', port, secure: false, ignoreTLS: true, from: 'alerts@orders.test', to: ['oncall@orders.test', 'lead@orders.test'],
      delivery: { backoffMs: 50, timeoutMs: 10_000 },
    });
    const alerts = createAlerts({
      rules: [thresholdRule({ name: 'QueueDepth', value: () => depth, threshold: 10, severity: 'critical', annotations: { summary: 'Queue is {{ $value }} deep' } })],
      channels: [channel], now: clock.now, autoStart: false, register: false, root: { groupWait: 0, groupInterval: '1m' },
    });
    rejectNextRcpt = 1; // the first recipient gets a temporary failure (451); the other one is served
    alerts.evaluate();
    await until(() => mails.length === 2, 30_000, 'firing mail to both recipients');
    depth = 0;
    clock.advance(60_000);
    alerts.evaluate();
    await until(() => mails.length === 3, 30_000, 'resolved mail');
    await alerts.close();

    const [firstTry, retry, resolved] = mails;
    expect(firstTry.from).toBe('alerts@orders.test');
    expect(firstTry.to).toEqual(['lead@orders.test']);
    expect(retry.to).toEqual(['oncall@orders.test']); // the retry goes only to the refused recipient
    for (const m of [firstTry, retry]) {
      expect(m.data).toMatch(/^Subject: \[vigil\] \[FIRING:1\] QueueDepth$/m);
      expect(m.data).toContain('Queue is 50 deep');
      expect(m.data).toMatch(/Content-Type: text\/html/);
    }
    expect(resolved.to).toEqual(['oncall@orders.test', 'lead@orders.test']);
    expect(resolved.data).toMatch(/^Subject: \[vigil\] \[RESOLVED:1\] QueueDepth$/m);
    expect(alerts.deliveryStats().email).toMatchObject({ sent: 2, failed: 0, retries: 1 });
    expect(connections).toBe(1); // pooled: every mail on one connection
  }, 60_000);
});
