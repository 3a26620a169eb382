import http from 'node:http';
import { resolve } from 'node:path';
import { clusterMetrics } from '../src/index';
import { get, promtoolCheck, sample, sampleSum, spawnServer, stopProcess, waitFor } from './helpers';

const FIXTURE = resolve(__dirname, 'fixtures/cluster-app.js');

interface Ready {
  metricsPort: number;
  appPorts: Record<string, number>;
}

function startCluster(env: Record<string, string>): { proc: ReturnType<typeof spawnServer>; ready: Promise<Ready> } {
  const proc = spawnServer(process.execPath, ['-r', 'ts-node/register/transpile-only', FIXTURE], {
    cwd: resolve(__dirname, '../../..'),
    env: { ...process.env, TS_NODE_PROJECT: resolve(__dirname, '../../../tsconfig.json'), ...env },
  });
  const ready = waitFor(() => {
    const line = proc.output().split('\n').find((l) => l.startsWith('{"metricsPort"'));
    return line === undefined ? undefined : (JSON.parse(line) as Ready);
  }, 120000, 'the cluster fixture to start').catch((error: Error) => {
    throw new Error(`${error.message}\n${proc.output()}`);
  });
  return { proc, ready };
}

describe('clusterMetrics', () => {
  let cluster: ReturnType<typeof startCluster> | undefined;
  const agent = new http.Agent({ keepAlive: false });

  afterAll(async () => {
    await stopProcess(cluster?.proc.child);
    agent.destroy();
  });

  it("sums two workers' requests in the primary's /metrics and reports a worker that does not answer", async () => {
    cluster = startCluster({ WORKERS: '2', SILENT_WORKERS: '1', TIMEOUT_MS: '1500' });
    const { metricsPort, appPorts } = await cluster.ready;
    const ids = Object.keys(appPorts);
    expect(ids).toHaveLength(3);
    const served: Record<string, number> = {};
    const counts = [7, 5, 3];
    for (let w = 0; w < ids.length; w++) {
      for (let i = 0; i < counts[w]; i++) {
        const res = await get(`http://127.0.0.1:${appPorts[ids[w]]}/users/${i}`, agent);
        expect(res.status).toBe(200);
        const pid = (JSON.parse(res.body) as { pid: number }).pid;
        served[pid] = (served[pid] ?? 0) + 1;
      }
    }
    expect(Object.keys(served)).toHaveLength(3);

    const res = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const body = res.body;
    const up = ids.map((id) => sample(body, 'vigil_cluster_worker_up', { worker: id }));
    expect(up.filter((v) => v === 1)).toHaveLength(2);
    expect(up.filter((v) => v === 0)).toHaveLength(1);
    const silentId = ids[up.indexOf(0)];
    const answering = ids.filter((id) => id !== silentId);
    const expected = answering.reduce((sum, id) => sum + counts[ids.indexOf(id)], 0);
    // counters and histograms are summed over the workers that answered
    expect(sample(body, 'http_requests_total', { route: '/users/:id', status_code: '200' })).toBe(expected);
    expect(sample(body, 'http_request_duration_seconds_count', { route: '/users/:id' })).toBe(expected);
    // gauges where a sum is wrong are reported per worker
    for (const id of answering) {
      expect(sample(body, 'http_apdex_score', { route: '/users/:id', worker: id })).toBeGreaterThan(0);
      expect(sample(body, 'process_start_time_seconds')).toBeUndefined();
    }
    expect(sampleSum(body, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });
  }, 180000);

  it('works when the primary sets up clusterMetrics after its workers are already serving', async () => {
    await stopProcess(cluster?.proc.child);
    cluster = startCluster({ WORKERS: '2', SILENT_WORKERS: '0', PRIMARY_LATE: '1' });
    const { metricsPort, appPorts } = await cluster.ready;
    const ports = Object.values(appPorts);
    expect(ports).toHaveLength(2);
    for (const port of ports) for (let i = 0; i < 4; i++) expect((await get(`http://127.0.0.1:${port}/users/${i}`, agent)).status).toBe(200);
    const { body } = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(sample(body, 'http_requests_total', { route: '/users/:id', status_code: '200' })).toBe(8);
    expect(sampleSum(body, 'vigil_cluster_worker_up')).toBe(2);
  }, 180000);

  it('throws a TypeError for bad options in the primary', async () => {
    await expect(clusterMetrics({ timeoutMs: 0 })).rejects.toThrow(TypeError);
    await expect(clusterMetrics({ port: 70000 })).rejects.toThrow(TypeError);
  });
});
