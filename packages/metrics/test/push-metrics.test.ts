import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, pushMetrics } from '../src/index';
import { freePort, get, sample, spawnServer, stopProcess, waitFor } from './helpers';

describe('pushMetrics against a real Pushgateway', () => {
  let dir: string;
  let port: number;
  let gateway: ReturnType<typeof spawnServer> | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-pushgw-'));
    port = await freePort();
    gateway = spawnServer('/usr/bin/prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`, `--persistence.file=${join(dir, 'pushgw.db')}`]);
    await waitFor(async () => (await get(`http://127.0.0.1:${port}/-/ready`)).status === 200, 20000, 'Pushgateway to be ready');
  }, 30000);

  afterAll(async () => {
    await stopProcess(gateway?.child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('receives the pushed metrics of a batch job', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordRequest({ route: 'nightly-report', durationSeconds: 4.2 });
    metrics.recordRequest({ route: 'nightly-report', durationSeconds: 5.1, status: 500 });
    await pushMetrics({ url: `http://127.0.0.1:${port}`, job: 'nightly', groupings: { instance: 'batch-1' }, metrics });
    const { body } = await get(`http://127.0.0.1:${port}/metrics`);
    expect(sample(body, 'http_requests_total', { job: 'nightly', instance: 'batch-1', route: 'nightly-report', status_code: '200' })).toBe(1);
    expect(sample(body, 'http_requests_total', { job: 'nightly', route: 'nightly-report', status_code: '500' })).toBe(1);
    expect(sample(body, 'http_request_duration_seconds_sum', { job: 'nightly', status_code: '500' })).toBe(5.1);
    expect(body).toMatch(/push_time_seconds\{instance="batch-1",job="nightly"\} \d/);

    // mode 'add' keeps the group and updates what was pushed again
    metrics.recordRequest({ route: 'nightly-report', durationSeconds: 1 });
    await pushMetrics({ url: `http://127.0.0.1:${port}`, job: 'nightly', groupings: { instance: 'batch-1' }, metrics, mode: 'add' });
    const after = await get(`http://127.0.0.1:${port}/metrics`);
    expect(sample(after.body, 'http_requests_total', { job: 'nightly', status_code: '200' })).toBe(2);
    metrics.close();
  });

  it('rejects when the gateway refuses the push, and for bad options', async () => {
    await expect(pushMetrics({ url: 'not a url', job: 'x' })).rejects.toThrow(TypeError);
    await expect(pushMetrics({ url: `http://127.0.0.1:${port}`, job: '' })).rejects.toThrow(TypeError);
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordRequest({ route: 'r', durationSeconds: 0.1 });
    // a grouping label that is also a pushed label is refused by the gateway
    await expect(pushMetrics({ url: `http://127.0.0.1:${port}`, job: 'clash', groupings: { route: 'x' }, metrics })).rejects.toThrow(/push failed/);
    metrics.close();
  });
});
