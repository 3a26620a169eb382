import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import express from 'express';
import { StatsD } from 'hot-shots';
import request from 'supertest';
import { createMetrics, expressMetrics, statsdMirror, timed } from '../src/index';
import type { Metrics, StatsdMirror } from '../src/index';
import { freePort, spawnServer, stopProcess, waitFor } from './helpers';

const STATSD = resolve(__dirname, '../../../node_modules/statsd/stats.js');

/** Sends one management command to the statsd admin port and returns its answer. */
function admin(port: number, command: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      out += chunk;
      // the admin server reads one command per packet and answers counters/timers/gauges with END
      if (out.includes('END') || (command === 'health' && out.includes('\n'))) socket.end();
    });
    socket.on('end', () => resolvePromise(out));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('statsd admin timed out')));
    socket.write(command);
  });
}

function counterValue(dump: string, name: string): number | undefined {
  const m = new RegExp(`'${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': (\\d+(?:\\.\\d+)?)`).exec(dump);
  return m === null ? undefined : Number(m[1]);
}

function timerValues(dump: string, name: string): number[] | undefined {
  const m = new RegExp(`'${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': \\[([^\\]]*)\\]`).exec(dump);
  return m === null ? undefined : m[1].split(',').map((v) => Number(v.trim())).filter((v) => Number.isFinite(v));
}

describe('statsdMirror against a real StatsD daemon', () => {
  let dir: string;
  let udpPort: number;
  let adminPort: number;
  let statsd: ReturnType<typeof spawnServer> | undefined;
  let metrics: Metrics;
  let mirror: StatsdMirror;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-statsd-'));
    udpPort = await freePort();
    adminPort = await freePort();
    const config = join(dir, 'config.js');
    writeFileSync(
      config,
      `{ port: ${udpPort}, address: "127.0.0.1", mgmt_port: ${adminPort}, mgmt_address: "127.0.0.1", backends: [], flushInterval: 600000 }\n`,
    );
    statsd = spawnServer(process.execPath, [STATSD, config], { cwd: dir });
    await waitFor(async () => (await admin(adminPort, 'health')).includes('health: up'), 20000, 'statsd to start');
    metrics = createMetrics({ defaultMetrics: false });
    mirror = statsdMirror({ metrics, host: '127.0.0.1', port: udpPort, prefix: 'shop.', gaugeIntervalMs: 200 });
  }, 30000);

  afterAll(async () => {
    await mirror?.close();
    metrics?.close();
    await stopProcess(statsd?.child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the mirrored request counters and timers', async () => {
    const app = express();
    app.use(expressMetrics({ metrics }));
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.get('/boom', () => {
      throw new Error('boom');
    });
    for (let i = 0; i < 5; i++) await request(app).get(`/users/${i}`).expect(200);
    await request(app).get('/boom').expect(500);
    metrics.recordRequest({ route: 'send-invoice', durationSeconds: 0.25 });

    const counters = await waitFor(async () => {
      const dump = await admin(adminPort, 'counters');
      return counterValue(dump, 'shop.http.requests.GET.users_id.200') === 5 ? dump : undefined;
    }, 20000, 'mirrored counters');
    expect(counterValue(counters, 'shop.http.requests.GET.boom.500')).toBe(1);
    await waitFor(async () => counterValue(await admin(adminPort, 'counters'), 'shop.http.requests.JOB.send-invoice.200') === 1, 20000, 'job counter');

    const timers = await admin(adminPort, 'timers');
    const values = timerValues(timers, 'shop.http.request_duration.GET.users_id.200');
    expect(values).toHaveLength(5);
    for (const v of values ?? []) expect(v).toBeGreaterThanOrEqual(0);
    expect(timerValues(timers, 'shop.http.request_duration.JOB.send-invoice.200')).toEqual([250]);

    const gauges = await waitFor(async () => {
      const dump = await admin(adminPort, 'gauges');
      return dump.includes("'shop.http.requests_in_flight'") ? dump : undefined;
    }, 20000, 'in-flight gauge');
    expect(gauges).toContain("'shop.http.requests_in_flight': 0");
  }, 40000);

  it('shows timers of functions wrapped with timed()', async () => {
    const work = timed('jobs.resize', async (n: number) => {
      await new Promise((r) => setTimeout(r, 10));
      return n * 2;
    }, { statsd: mirror, metrics });
    expect(await work(21)).toBe(42);
    const values = await waitFor(async () => timerValues(await admin(adminPort, 'timers'), 'shop.jobs.resize'), 20000, 'timed() timer');
    expect(values).toHaveLength(1);
    expect(values[0]).toBeGreaterThanOrEqual(5);
  }, 30000);
});

describe('statsdMirror in DogStatsD mode', () => {
  it('sends method, route and status as tags', async () => {
    const socket = dgram.createSocket('udp4');
    const lines: string[] = [];
    socket.on('message', (msg) => lines.push(...msg.toString().split('\n').filter(Boolean)));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const metrics = createMetrics({ defaultMetrics: false });
    const mirror = statsdMirror({ metrics, port: socket.address().port, dogstatsd: true, globalTags: { env: 'test' }, gaugeIntervalMs: 0 });
    try {
      metrics.recordRequest({ method: 'GET', route: '/users/:id', durationSeconds: 0.01 });
      await waitFor(() => lines.length >= 2, 10000, 'datagrams');
      expect(lines).toContainEqual(expect.stringMatching(/^http\.requests:1\|c\|#.*method:GET.*route:\/users\/:id.*status_code:200/));
      expect(lines).toContainEqual(expect.stringMatching(/^http\.request_duration:10\|ms\|#/));
      expect(lines.join('\n')).toContain('env:test');
    } finally {
      await mirror.close();
      metrics.close();
      socket.close();
    }
  });

  it('throws a TypeError for bad options', () => {
    expect(() => statsdMirror({ port: 0 })).toThrow(TypeError);
    expect(() => statsdMirror({ protocol: 'http' as never })).toThrow(TypeError);
    const client = new StatsD({ mock: true });
    expect(() => statsdMirror({ client, prefix: 'shop.' })).toThrow(/prefix would be ignored next to client/);
    expect(() => statsdMirror({ client, host: 'statsd', port: 9125 })).toThrow(/host, port would be ignored/);
    client.close();
  });
});
