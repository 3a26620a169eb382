import { setErrorHandler } from '@vigil/core';
import { alertmanagerChannel, createAlerts, logChannel, pagerDutyChannel, slackChannel, thresholdRule, webhookChannel, type Channel, type Notification } from '../src/index';
import { Outbox } from '../src/delivery';
import { manualClock } from './helpers/memory-channel';
import { Receiver, type ScriptedFailure } from './helpers/receiver';
import { alertmanagerWebhookSchema, pagerDutySchema, postableAlertsSchema, slackSchema } from './helpers/schemas';

const FAST_RETRY = { backoffMs: 50, maxBackoffMs: 400, timeoutMs: 5000, maxAttempts: 10 };
const MID_RUN_FAILURES: ScriptedFailure[] = [{ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }];

/**
 * Drives two alerts through a channel: QueueA (critical) fires, QueueB (warning) fires, QueueA
 * resolves. Each alert is its own group (groupBy alertname, groupWait 0), so three notifications.
 * The receiver answers 500 then 429 in the middle of the run.
 */
async function runScenario(channel: Channel, receiver: Receiver, options: { resendMs?: number } = {}) {
  const clock = manualClock(Date.now());
  let a = 0;
  let b = 0;
  const alerts = createAlerts({
    rules: [
      thresholdRule({ name: 'QueueA', value: () => a, threshold: 1, severity: 'critical', labels: { service: 'orders' }, annotations: { description: 'Depth {{ $value }}' } }),
      thresholdRule({ name: 'QueueB', value: () => b, threshold: 1, severity: 'warning', labels: { service: 'orders' } }),
    ],
    channels: [channel], now: clock.now, autoStart: false, register: false, externalUrl: 'http://orders.test:3000',
    root: { groupWait: 0, groupInterval: '1m' },
  });
  a = 5;
  alerts.evaluate();
  receiver.failNext(...MID_RUN_FAILURES);
  b = 7;
  clock.advance(1000);
  alerts.evaluate();
  if (options.resendMs !== undefined) {
    clock.advance(options.resendMs);
    alerts.evaluate(); // raw channels re-send firing alerts
  }
  a = 0;
  clock.advance(61_000);
  alerts.evaluate();
  await alerts.flush(60_000);
  return alerts;
}

describe('slackChannel', () => {
  const receiver = new Receiver(slackSchema);
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('posts Block Kit messages coloured by severity, one a second, and delivers everything after 500 and 429', async () => {
    const slack = slackChannel(`${receiver.url}/services/T000/B000/XXXX`, { delivery: FAST_RETRY });
    const starts: number[] = [];
    const timed = { ...slack, send: (n: Notification, signal: AbortSignal) => { starts.push(Date.now()); return slack.send(n, signal); } };
    const alerts = await runScenario(timed, receiver);
    expect(receiver.schemaErrors).toEqual([]);
    const bodies = receiver.accepted.map((r) => r.body as { text: string; attachments: Array<{ color: string; blocks: Array<{ type: string; text?: { text: string } }> }> });
    expect(bodies.map((b) => b.text)).toEqual(['[FIRING:1] QueueA', '[FIRING:1] QueueB', '[RESOLVED:1] QueueA']);
    expect(bodies.map((b) => b.attachments[0].color)).toEqual(['#E01E5A', '#ECB22E', '#2EB67D']);
    expect(bodies[0].attachments[0].blocks[1].text?.text).toContain('Depth 5');
    expect(receiver.rejected).toHaveLength(2);
    // at most one message a second per webhook: 5 attempts (3 delivered, a 500, a 429) need at least 4 s
    expect(starts).toHaveLength(5);
    expect(starts[4] - starts[0]).toBeGreaterThanOrEqual(3990);
    expect(alerts.deliveryStats().slack).toEqual({ sent: 3, failed: 0, dropped: 0, retries: 2, queued: 0 });
  }, 60_000);

  it('gives up at once on a 4xx that retrying cannot fix', async () => {
    const clock = manualClock(Date.now());
    receiver.failNext({ status: 404 });
    const alerts = createAlerts({
      rules: [thresholdRule({ name: 'Once', value: () => 2, threshold: 1 })], now: clock.now, autoStart: false, register: false,
      channels: [slackChannel(`${receiver.url}/services/gone`, { delivery: FAST_RETRY, minIntervalMs: 0 })], root: { groupWait: 0 },
    });
    const errors: unknown[] = [];
    const core = jest.requireActual('@vigil/core') as typeof import('@vigil/core');
    core.setErrorHandler((_k, e) => errors.push(e));
    try {
      alerts.evaluate();
      await alerts.flush(30_000);
    } finally {
      core.setErrorHandler(undefined);
    }
    expect(alerts.deliveryStats().slack).toMatchObject({ sent: 0, failed: 1, retries: 0 });
    expect(String(errors[0])).toMatch(/answered 404/);
    expect(String(errors[0])).not.toContain('services/gone'); // the webhook path is a secret
  });
});

describe('pagerDutyChannel', () => {
  const receiver = new Receiver(pagerDutySchema, 202, (body) => JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: (body as { dedup_key: string }).dedup_key }));
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('sends Events API v2 trigger and resolve with the fingerprint as dedup_key, after 500 and 429', async () => {
    const alerts = await runScenario(pagerDutyChannel('0123456789abcdef0123456789abcdef', { url: `${receiver.url}/v2/enqueue`, delivery: FAST_RETRY, source: 'orders-1' }), receiver);
    expect(receiver.schemaErrors).toEqual([]);
    const events = receiver.accepted.map((r) => r.body as { event_action: string; dedup_key: string; payload?: { severity: string; class: string; summary: string; source: string } });
    expect(events.map((e) => `${e.event_action}:${e.payload?.class ?? ''}:${e.payload?.severity ?? ''}`)).toEqual(['trigger:QueueA:critical', 'trigger:QueueB:warning', 'resolve::']);
    expect(events[2].dedup_key).toBe(events[0].dedup_key);
    expect(events[0].dedup_key).not.toBe(events[1].dedup_key);
    expect(events[0].payload).toMatchObject({ summary: 'QueueA is 5 (threshold: 1): Depth 5', source: 'orders' });
    expect(receiver.accepted.every((r) => r.path === '/v2/enqueue')).toBe(true);
    expect(alerts.deliveryStats().pagerduty).toMatchObject({ sent: 3, failed: 0, retries: 2 });
  }, 60_000);
});

describe('webhookChannel', () => {
  const receiver = new Receiver(alertmanagerWebhookSchema);
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('posts the Alertmanager webhook JSON (version 4) and delivers everything after 500 and 429', async () => {
    const alerts = await runScenario(webhookChannel(`${receiver.url}/hook`, { delivery: FAST_RETRY, headers: { authorization: 'Bearer t0ken' } }), receiver);
    expect(receiver.schemaErrors).toEqual([]);
    const bodies = receiver.accepted.map((r) => r.body as { status: string; groupLabels: Record<string, string>; commonLabels: Record<string, string>; alerts: Array<{ status: string; endsAt: string; generatorURL: string }> });
    expect(bodies.map((b) => `${b.status}:${b.groupLabels.alertname}`)).toEqual(['firing:QueueA', 'firing:QueueB', 'resolved:QueueA']);
    expect(bodies[0].commonLabels).toEqual({ alertname: 'QueueA', service: 'orders', severity: 'critical' });
    expect(bodies[0].alerts[0].endsAt).toBe('0001-01-01T00:00:00Z');
    expect(bodies[2].alerts[0].endsAt).not.toBe('0001-01-01T00:00:00Z');
    expect(bodies[0].alerts[0].generatorURL).toBe('http://orders.test:3000');
    expect(receiver.accepted[0].headers.authorization).toBe('Bearer t0ken');
    expect(alerts.deliveryStats().webhook).toMatchObject({ sent: 3, failed: 0, retries: 2 });
  }, 60_000);
});

describe('webhookChannel during an outage', () => {
  const receiver = new Receiver(alertmanagerWebhookSchema);
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('queues notifications while the receiver fails and delivers all of them, in order, once it recovers', async () => {
    const clock = manualClock(Date.now());
    const values: Record<string, number> = { A: 0, B: 0, C: 0 };
    const alerts = createAlerts({
      rules: ['A', 'B', 'C'].map((n) => thresholdRule({ name: `Queue${n}`, value: () => values[n], threshold: 1 })),
      channels: [webhookChannel(`${receiver.url}/hook`, { delivery: { ...FAST_RETRY, maxAttempts: 20 } })],
      now: clock.now, autoStart: false, register: false, root: { groupWait: 0, groupInterval: '1m' },
    });
    receiver.failNext(...Array.from({ length: 8 }, (_, i) => (i % 3 === 2 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 503 })));
    for (const n of ['A', 'B', 'C']) {
      values[n] = 5;
      clock.advance(1000);
      alerts.evaluate();
    }
    values.A = 0;
    clock.advance(60_000);
    alerts.evaluate();
    await alerts.flush(60_000);
    const got = receiver.accepted.map((r) => r.body as { status: string; groupLabels: Record<string, string> }).map((b) => `${b.status}:${b.groupLabels.alertname}`);
    expect(got).toEqual(['firing:QueueA', 'firing:QueueB', 'firing:QueueC', 'resolved:QueueA']);
    expect(receiver.rejected).toHaveLength(8);
    expect(alerts.deliveryStats().webhook).toMatchObject({ sent: 4, failed: 0, dropped: 0, retries: 8 });
  }, 60_000);
});

describe('alertmanagerChannel (loopback)', () => {
  const receiver = new Receiver(postableAlertsSchema);
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('posts postable alerts to /api/v2/alerts, re-sends while firing, ends them on resolve, after 500 and 429', async () => {
    const alerts = await runScenario(alertmanagerChannel(receiver.url, { resendMs: 30_000, delivery: FAST_RETRY }), receiver, { resendMs: 30_000 });
    expect(receiver.schemaErrors).toEqual([]);
    expect(receiver.accepted.every((r) => r.path === '/api/v2/alerts')).toBe(true);
    const pushes = receiver.accepted.map((r) => (r.body as Array<{ labels: Record<string, string>; endsAt: string; startsAt: string }>));
    const seen = pushes.map((batch) => batch.map((x) => x.labels.alertname).sort().join('+'));
    // A fires; B fires; both re-sent after resendMs; A resolved and B re-sent (another resendMs passed)
    expect(seen).toEqual(['QueueA', 'QueueB', 'QueueA+QueueB', 'QueueA+QueueB']);
    const last = pushes[3].find((x) => x.labels.alertname === 'QueueA') as { endsAt: string };
    const firstA = pushes[0][0];
    expect(Date.parse(firstA.endsAt) - Date.parse(firstA.startsAt)).toBe(4 * 30_000); // valid for 4 re-send periods
    expect(Date.parse(last.endsAt)).toBe(Date.parse(firstA.startsAt) + 1000 + 30_000 + 61_000); // resolved at that evaluation
    expect(alerts.deliveryStats().alertmanager).toMatchObject({ sent: 4, failed: 0, retries: 2 });
  }, 60_000);
});

describe('logChannel', () => {
  it('logs firing critical alerts at error and resolves at info (pino style)', async () => {
    const lines: Array<[string, unknown, unknown]> = [];
    const logger = {
      info: (o: unknown, m: unknown) => lines.push(['info', o, m]),
      warn: (o: unknown, m: unknown) => lines.push(['warn', o, m]),
      error: (o: unknown, m: unknown) => lines.push(['error', o, m]),
    };
    const receiver = new Receiver(() => undefined);
    await runScenario(logChannel(logger), receiver);
    expect(lines.map(([level, , m]) => `${level} ${String(m)}`)).toEqual(['error alert [FIRING:1] QueueA', 'warn alert [FIRING:1] QueueB', 'info alert [RESOLVED:1] QueueA']);
    expect((lines[0][1] as { alerts: Array<{ labels: Record<string, string> }> }).alerts[0].labels.alertname).toBe('QueueA');
  });
});

describe('URLs in delivery errors', () => {
  const receiver = new Receiver(alertmanagerWebhookSchema);
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('show the host only: no path (even a single-segment token), no query', async () => {
    const errors: string[] = [];
    setErrorHandler((_kind, error) => errors.push(String(error)));
    try {
      for (const path of ['/T0SECRET-TOKEN', '/services/T000/B000/XXXXSECRET', '/hook?token=QUERYSECRET']) {
        receiver.failNext({ status: 400 });
        const box = new Outbox(webhookChannel(`${receiver.url}${path}`, { delivery: { maxAttempts: 1 } }));
        box.enqueue({ receiver: 'webhook', status: 'firing', alerts: [], groupLabels: {}, commonLabels: {}, commonAnnotations: {}, groupKey: 'k', externalURL: '', truncatedAlerts: 0 });
        await box.idle();
      }
    } finally {
      setErrorHandler(undefined);
    }
    expect(errors).toEqual(Array(3).fill(`DeliveryError: webhook: ${receiver.url}/… answered 400 server_error`));
  });

  it('redactUrl keeps scheme and host, and says whether there was a path', () => {
    const { redactUrl } = jest.requireActual('../src/channels/http') as typeof import('../src/channels/http');
    expect(redactUrl('https://hooks.example.com/T0SECRET')).toBe('https://hooks.example.com/…');
    expect(redactUrl('https://user:pw@am.example.com:9093/?token=s3cret#x')).toBe('https://am.example.com:9093');
    expect(redactUrl('https://am.example.com')).toBe('https://am.example.com');
    expect(redactUrl('not a url')).toBe('(invalid url)');
  });
});

describe('channel payload details', () => {
  const alert = (i: number, status: 'firing' | 'resolved' = 'firing', severity = 'warning') => ({
    status, labels: { alertname: 'Many', severity, shard: String(i) }, annotations: { summary: `Shard ${i} <lagging> & slow` },
    startsAt: '2026-11-25T12:00:00.000Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `fp${i}`, value: i, severity,
  });

  it('slackMessage lists at most maxAlerts alerts, escapes mrkdwn and stays within Block Kit limits', () => {
    const { slackMessage } = jest.requireActual('../src/channels/slack') as typeof import('../src/channels/slack');
    const n: Notification = { receiver: 'slack', status: 'firing', alerts: Array.from({ length: 30 }, (_, i) => alert(i, 'firing', i === 7 ? 'critical' : 'warning')), groupLabels: { alertname: 'Many' }, commonLabels: {}, commonAnnotations: {}, groupKey: 'k', externalURL: 'http://orders.test', truncatedAlerts: 0 };
    const body = slackMessage(n, 20);
    expect(() => slackSchema(body)).not.toThrow();
    const blocks = body.attachments[0].blocks as Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }>;
    expect(blocks.filter((b) => b.type === 'section')).toHaveLength(20);
    expect(blocks[1].text?.text).toContain('Shard 0 &lt;lagging&gt; &amp; slow');
    expect(blocks[blocks.length - 1].elements?.[0].text).toContain('…and 10 more');
    expect(body.attachments[0].color).toBe('#E01E5A'); // the worst severity colours the message
  });

  it('truncates long texts without splitting a surrogate pair (PagerDuty summary, Slack sections)', () => {
    const { pagerDutyEvent } = jest.requireActual('../src/channels/pagerduty') as typeof import('../src/channels/pagerduty');
    const { slackMessage } = jest.requireActual('../src/channels/slack') as typeof import('../src/channels/slack');
    const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    for (const title of ['Emoji storm', 'Emoji storms']) { // both parities of the text before the emojis
      const a = { ...alert(1), annotations: { summary: title, description: '😀'.repeat(2000) } };
      const summary = (pagerDutyEvent(a, 'KEY', { source: 'h', client: 'vigil' }).payload as { summary: string }).summary;
      expect(summary.length).toBeLessThanOrEqual(1024);
      expect(summary).toMatch(/^Emoji storms?: (😀)+…$/);
      expect(summary).not.toMatch(loneSurrogate);
      const n: Notification = { receiver: 'slack', status: 'firing', alerts: [a], groupLabels: { alertname: 'Many' }, commonLabels: {}, commonAnnotations: {}, groupKey: 'k', externalURL: '', truncatedAlerts: 0 };
      const section = (slackMessage(n).attachments[0].blocks[1] as { text: { text: string } }).text.text;
      expect(section.length).toBeLessThanOrEqual(3000);
      expect(section.endsWith('😀…')).toBe(true);
      expect(section).not.toMatch(loneSurrogate);
    }

    const { truncate } = jest.requireActual('../src/channels/common') as typeof import('../src/channels/common');
    expect(truncate('a😀b', 3)).toBe('a…');
    expect(truncate('ab😀', 4)).toBe('ab😀');
    expect(truncate('abc😀', 4)).toBe('abc…');
  });

  it('maps severities to PagerDuty levels', () => {
    const { pagerDutySeverity } = jest.requireActual('../src/channels/pagerduty') as typeof import('../src/channels/pagerduty');
    expect(['critical', 'page', 'error', 'warning', 'ticket', 'info', 'low', 'whatever'].map(pagerDutySeverity))
      .toEqual(['critical', 'critical', 'error', 'warning', 'warning', 'info', 'info', 'error']);
  });

  it('rejects bad channel options in the factory', () => {
    expect(() => slackChannel('not a url')).toThrow(/slackChannel webhookUrl is not a valid URL/);
    expect(() => pagerDutyChannel('')).toThrow(/routing \(integration\) key/);
    expect(() => webhookChannel('ftp://x')).toThrow(/must be http\(s\)/);
    expect(() => alertmanagerChannel('http://am:9093', { resendMs: 0 })).toThrow(/resendMs must be positive/);
    expect(() => logChannel({} as never)).toThrow(/info\(\) and warn\(\)/);
    expect(() => createAlerts({ channels: [alertmanagerChannel('http://am:9093')], routes: [{ channels: ['alertmanager'] }], autoStart: false, register: false }))
      .toThrow(/receives every alert itself/);
  });
});
