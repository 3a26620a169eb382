import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import http from 'node:http';

/** A free TCP port on 127.0.0.1 (for servers that cannot be told to use port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns a truthy value (or throws on timeout). */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `promtool check metrics` on an exposition: exit code and what it printed. */
export function promtoolCheck(body: string): { status: number | null; output: string } {
  const result = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** Value of the sample `name{labels}` in a text exposition (labels matched as a subset), or undefined. */
export function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    if (line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const lineName = brace !== -1 && brace < space ? line.slice(0, brace) : line.slice(0, space);
    if (lineName !== name) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (!ok) continue;
    const afterLabels = brace !== -1 && brace < space ? line.slice(line.indexOf('} ') + 2) : line.slice(space + 1);
    return Number(afterLabels.split(' ')[0]);
  }
  return undefined;
}

/** Sum of every sample `name` with the given labels. */
export function sampleSum(body: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const close = line.lastIndexOf('} ');
    total += Number((close === -1 ? line.slice(line.indexOf(' ') + 1) : line.slice(close + 2)).split(' ')[0]);
  }
  return total;
}

/** Plain GET with a keep-alive agent; resolves with status and body. */
export function get(url: string, agent?: http.Agent, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error('request timed out')));
  });
}

/** Sends `total` GETs (at most `concurrency` at a time) to urls made by `urlOf(i)`. */
export async function flood(total: number, concurrency: number, urlOf: (i: number) => string): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      await get(urlOf(i), agent);
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    agent.destroy();
  }
}

/** Starts a GET whose client hangs up after `afterMs`; resolves when the socket is closed. */
export function abortedRequest(url: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    setTimeout(() => req.destroy(), afterMs);
  });
}

/** Spawns a long-running process, collecting its output for error messages. */
export function spawnServer(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
  child.stderr?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
  return { child, output: () => out };
}

/** Kills a spawned process and waits for it to exit. */
export function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
