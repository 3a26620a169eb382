import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { setErrorHandler } from '@vigil/core';
import { createAlerts, emailChannel, thresholdRule, type Notification } from '../src/index';
import { Outbox } from '../src/delivery';
import { manualClock } from './helpers/memory-channel';
import { until } from './helpers/receiver';

interface Mail { from: string; to: string[]; data: string }

function note(): Notification {
  return { receiver: 'email', status: 'firing', alerts: [], groupLabels: { alertname: 'Disk' }, commonLabels: {}, commonAnnotations: {}, groupKey: 'k', externalURL: '', truncatedAlerts: 0 };
}

describe('emailChannel (real SMTP server from the smtp-server package)', () => {
  const mails: Mail[] = [];
  let rejectNextRcpt = 0;
  let connections = 0;
  const rcptTo: string[] = [];
  const refuse = new Map<string, number[]>(); // address → SMTP codes of its next RCPT TO answers
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, cb) { connections++; cb(); },
    onRcptTo(address, _session, cb) {
      rcptTo.push(address.address);
      if (rejectNextRcpt > 0) {
        rejectNextRcpt--;
        const err = Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 });
        cb(err);
        return;
      }
      const code = refuse.get(address.address)?.shift();
      if (code !== undefined) {
        cb(Object.assign(new Error(code >= 500 ? 'No such user' : 'Try again later'), { responseCode: code }));
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

  const errors: string[] = [];
  beforeEach(() => {
    errors.length = 0;
    rcptTo.length = 0;
    mails.length = 0;
    refuse.clear();
    setErrorHandler((_kind, error) => errors.push(String(error)));
  });
  afterEach(() => setErrorHandler(undefined));

  /** Sends one notification through an outbox; returns its stats. */
  async function deliver(to: string[], maxAttempts = 4) {
    const box = new Outbox(emailChannel({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, from: 'alerts@orders.test', to, delivery: { backoffMs: 10, maxAttempts } }));
    box.enqueue(note());
    await box.idle();
    await box.channel.close?.();
    return box.stats;
  }

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

  it('compares recipients by bare address: a retry never goes again to an accepted "Name <address>"', async () => {
    refuse.set('lead@orders.test', [451]);
    const stats = await deliver(['On-call <oncall@orders.test>', 'lead@orders.test']);
    expect(rcptTo).toEqual(['oncall@orders.test', 'lead@orders.test', 'lead@orders.test']);
    expect(mails.map((m) => m.to)).toEqual([['oncall@orders.test'], ['lead@orders.test']]);
    expect(mails[0].data).toMatch(/^To: "On-call" <oncall@orders\.test>, lead@orders\.test$/m); // the display name is kept
    expect(stats).toMatchObject({ sent: 1, failed: 0, retries: 1 });
  });

  it('gives up on recipients refused with 5xx, retries only those refused with 4xx, and counts the mail sent once one got it', async () => {
    refuse.set('temp@orders.test', [450]);
    refuse.set('perm@orders.test', [550, 550]);
    const stats = await deliver(['ok@orders.test', 'temp@orders.test', 'perm@orders.test']);
    expect(rcptTo).toEqual(['ok@orders.test', 'temp@orders.test', 'perm@orders.test', 'temp@orders.test']);
    expect(mails.map((m) => m.to)).toEqual([['ok@orders.test'], ['temp@orders.test']]);
    expect(stats).toMatchObject({ sent: 1, failed: 0, retries: 1 });
    expect(errors).toEqual([expect.stringMatching(/^DeliveryError: email: 1 recipient\(s\) refused: perm@orders\.test \(550 No such user\)$/)]);
  });

  it('judges recipients one by one when every one of them is refused', async () => {
    refuse.set('temp@orders.test', [450]);
    refuse.set('perm@orders.test', [550, 550]);
    expect(await deliver(['temp@orders.test', 'perm@orders.test'])).toMatchObject({ sent: 1, failed: 0, retries: 1 });
    expect(rcptTo).toEqual(['temp@orders.test', 'perm@orders.test', 'temp@orders.test']);
    expect(mails.map((m) => m.to)).toEqual([['temp@orders.test']]);
    expect(errors).toEqual([expect.stringContaining('perm@orders.test (550 No such user)')]);

    rcptTo.length = 0;
    refuse.set('perm@orders.test', [550, 550]);
    expect(await deliver(['perm@orders.test'])).toMatchObject({ sent: 0, failed: 1, retries: 0 }); // nobody got it
    expect(rcptTo).toEqual(['perm@orders.test']);

    refuse.set('temp@orders.test', [450, 450]);
    expect(await deliver(['ok@orders.test', 'temp@orders.test'], 2)).toMatchObject({ sent: 1, failed: 0, retries: 1 }); // out of attempts, but ok@ got it
    expect(errors[2]).toContain('temp@orders.test (450 Try again later)');
  });
});
