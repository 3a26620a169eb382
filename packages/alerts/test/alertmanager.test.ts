import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertmanagerChannel, createAlerts, thresholdRule } from '../src/index';
import { Receiver, until } from './helpers/receiver';
import { alertmanagerWebhookSchema } from './helpers/schemas';

const BINARY = process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Hook { status: string; receiver: string; alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string>; endsAt: string }> }

describe('alertmanagerChannel against a real Alertmanager', () => {
  const hook = new Receiver(alertmanagerWebhookSchema);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  let am: ChildProcess | undefined;
  let amUrl = '';
  let amLog = '';

  beforeAll(async () => {
    const hookUrl = await hook.start();
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'alertmanager.yml'), [
      'route:',
      '  receiver: hook',
      "  group_by: ['alertname']",
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${hookUrl}/hook`,
      '        send_resolved: true',
      '',
    ].join('\n'));
    am = spawn(BINARY, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=', // gossip off
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    am.stdout?.on('data', (c: Buffer) => { amLog += c.toString(); });
    am.stderr?.on('data', (c: Buffer) => { amLog += c.toString(); });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (am.exitCode !== null) throw new Error(`alertmanager exited: ${amLog}`);
      const ready = await fetch(`${amUrl}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`alertmanager not ready: ${amLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 40_000);

  afterAll(async () => {
    if (am !== undefined && am.exitCode === null) {
      const exited = new Promise((r) => am?.once('exit', r));
      am.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (am.exitCode === null) am.kill('SIGKILL');
    }
    await hook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('receives a pushed alert, delivers it to a webhook, and delivers the resolve too', async () => {
    let errorRatio = 0.12;
    const alerts = createAlerts({
      rules: [thresholdRule({
        name: 'CheckoutErrors', value: () => errorRatio, threshold: 0.05, severity: 'critical', labels: { service: 'orders' },
        annotations: { summary: 'Checkout failing', description: 'Error ratio {{ $value | humanizePercentage }}' },
      })],
      channels: [alertmanagerChannel(amUrl, { resendMs: 1000, delivery: { backoffMs: 100, timeoutMs: 5000 } })],
      autoStart: false, register: false, externalUrl: 'http://orders.test:3000',
    });
    alerts.evaluate();
    await until(() => hook.accepted.some((r) => (r.body as Hook).status === 'firing'), 30_000, 'firing notification from Alertmanager');
    const firing = hook.accepted.map((r) => r.body as Hook).find((b) => b.status === 'firing') as Hook;
    expect(firing.receiver).toBe('hook');
    expect(firing.alerts[0].labels).toEqual({ alertname: 'CheckoutErrors', service: 'orders', severity: 'critical' });
    expect(firing.alerts[0].annotations).toEqual({ summary: 'Checkout failing', description: 'Error ratio 12%' });

    const listed = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
    expect(listed.map((a) => [a.labels.alertname, a.status.state])).toEqual([['CheckoutErrors', 'active']]);

    errorRatio = 0.01;
    alerts.evaluate(); // resolved: pushed with endsAt = now
    await until(() => hook.accepted.some((r) => (r.body as Hook).status === 'resolved'), 30_000, 'resolved notification from Alertmanager');
    const resolved = hook.accepted.map((r) => r.body as Hook).find((b) => b.status === 'resolved') as Hook;
    expect(resolved.alerts[0].labels.alertname).toBe('CheckoutErrors');
    expect(resolved.alerts[0].status).toBe('resolved');
    expect(hook.schemaErrors).toEqual([]);
    expect(alerts.deliveryStats().alertmanager).toMatchObject({ sent: 2, failed: 0 });
    await alerts.close();
  }, 60_000);
});
