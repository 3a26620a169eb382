import { spawn, type ChildProcess } from 'node:child_process';
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

/**
 * A real cluster worker, as far as Node is concerned (`NODE_UNIQUE_ID` set, an IPC channel to its
 * parent), with the test playing its primary: it sends the worker the primary's metrics requests
 * and reads the answers. The worker opens and closes `clusterMetrics()` handles on command, each
 * with a registry holding one gauge named after the handle, so an answer tells whose registry it is.
 */
const WORKER_SCRIPT = String.raw`
const path = require('node:path');
const Module = require('node:module');
const root = process.cwd();
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function vigilAlias(request, ...rest) {
  const m = /^@vigil\/([a-z-]+)$/.exec(request);
  return resolveFilename.call(this, m ? path.join(root, 'packages', m[1], 'src', 'index.ts') : request, ...rest);
};
if (!require('node:cluster').isWorker) throw new Error('not a cluster worker');
const { Gauge, Registry } = require('prom-client');
const { clusterMetrics } = require(path.join(root, 'packages/metrics/src/index.ts'));
const handles = {};
const baseline = process.listenerCount('message') + 1;
process.on('message', async (m) => {
  if (m === null || typeof m !== 'object') return;
  if (m.type === 'test:open') {
    const registry = new Registry();
    new Gauge({ name: 'handle_' + m.name, help: 'whose registry answered', registers: [registry] }).set(1);
    handles[m.name] = await clusterMetrics({ registry });
  } else if (m.type === 'test:close') {
    await handles[m.name].close();
  } else return;
  process.send({ type: 'test:done', listeners: process.listenerCount('message') - baseline });
});
process.send({ type: 'test:ready' });
`;

describe('clusterMetrics called more than once in a worker', () => {
  let child: ChildProcess | undefined;
  let output = '';
  let nextId = 1_000_000;

  afterAll(async () => {
    await stopProcess(child);
  });

  function nextMessage<T>(accept: (m: any) => T | undefined, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const finish = (value: T | undefined): void => {
        clearTimeout(timer);
        child?.off('message', onMessage);
        child?.off('exit', onExit);
        resolve(value);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      function onMessage(m: unknown): void {
        const value = accept(m);
        if (value !== undefined) finish(value);
      }
      function onExit(): void {
        finish(undefined);
      }
      child?.on('message', onMessage);
      child?.once('exit', onExit);
    });
  }

  /** Sends a command to the worker; resolves with how many `clusterMetrics` IPC listeners it has. */
  async function command(type: 'test:open' | 'test:close', name: string): Promise<number> {
    const done = nextMessage((m) => (m?.type === 'test:done' ? (m.listeners as number) : undefined), 20000);
    child?.send({ type, name });
    const listeners = await done;
    if (listeners === undefined) throw new Error(`the worker did not finish ${type} ${name}\n${output}`);
    return listeners;
  }

  /** Asks the worker for its metrics as the primary does: the metric names it answers with, or 'no answer'. */
  async function ask(): Promise<string[] | 'no answer'> {
    const id = ++nextId;
    const answer = nextMessage((m) => (m?.type === 'vigil:metrics:response' && m.id === id ? (m as { metrics?: Array<{ name: string }> }) : undefined), 1500);
    child?.send({ type: 'vigil:metrics:request', id });
    const m = await answer;
    return m === undefined ? 'no answer' : (m.metrics ?? []).map((metric) => metric.name);
  }

  it('closes only what each call opened, answering from the newest call still open', async () => {
    const root = resolve(__dirname, '../../..');
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', WORKER_SCRIPT], {
      cwd: root,
      env: { ...process.env, TS_NODE_PROJECT: resolve(root, 'tsconfig.json'), NODE_UNIQUE_ID: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const ready = await nextMessage((m) => (m?.type === 'test:ready' ? true : undefined), 120000);
    if (ready === undefined) throw new Error(`the worker did not start\n${output}`);

    expect(await command('test:open', 'a')).toBe(1);
    expect(await ask()).toEqual(['handle_a']);
    // a second call (another module setting it up): the newest registry answers, one listener still
    expect(await command('test:open', 'b')).toBe(1);
    expect(await ask()).toEqual(['handle_b']);
    // closing the second call leaves the first one answering
    expect(await command('test:close', 'b')).toBe(1);
    expect(await ask()).toEqual(['handle_a']);
    // a second close() of the same handle does nothing
    expect(await command('test:close', 'b')).toBe(1);
    expect(await ask()).toEqual(['handle_a']);
    // closing the first call while a third is open leaves the third one answering
    expect(await command('test:open', 'c')).toBe(1);
    expect(await command('test:close', 'a')).toBe(1);
    expect(await ask()).toEqual(['handle_c']);
    // and once every call is closed the worker stops listening
    expect(await command('test:close', 'c')).toBe(0);
    expect(await ask()).toBe('no answer');
    expect(await command('test:close', 'a')).toBe(0);
  }, 180000);
});
