import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { until } from './helpers';

jest.setTimeout(120_000);

/** A free port (cluster workers must agree on one, so port 0 will not do). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One request on a fresh connection, so the cluster spreads them over the workers. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('dashboard under node:cluster', () => {
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('shows the whole service, merged from every worker, whichever worker answers', async () => {
    const port = await freePort();
    const fixture = join(__dirname, 'fixtures');
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(fixture, 'cluster-app.ts')], {
      cwd: fixture,
      env: { ...process.env, TS_NODE_PROJECT: join(fixture, 'tsconfig.json'), CLUSTER_PORT: String(port), NODE_ENV: 'development' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await until(() => output.includes('listening'), 90_000, 200).catch(() => {
      throw new Error(`cluster did not start:\n${output}`);
    });
    const base = `http://127.0.0.1:${port}`;
    const pids = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const res = await get(`${base}/work/${i}`);
      pids.add((JSON.parse(res.body) as { pid: number }).pid);
    }
    expect(pids.size).toBe(2);
    const snapshot = await until(async () => {
      const body = JSON.parse((await get(`${base}/_vigil/snapshot.json`)).body) as {
        workers: number; overall: { count: number }; routes: Array<{ route: string; count: number }>; processes: Array<{ pid: number }>;
      };
      return body.workers === 2 && body.overall.count === 40 ? body : undefined;
    }, 30_000, 250);
    if (snapshot === undefined) throw new Error('no merged snapshot');
    expect(snapshot.routes.find((r) => r.route === '/work/:id')?.count).toBe(40);
    expect(snapshot.processes.map((p) => p.pid).sort()).toEqual([...pids].sort());
  });
});
