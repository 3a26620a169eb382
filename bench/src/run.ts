/**
 * `npm run bench`: server CPU per request for each scenario, interleaved over rounds, median
 * reported, with the ratio to the bare app and to the anchor stack of the same framework, measured
 * in the same run. Prints a table and writes JSON under bench/results/.
 *
 * Options: --rounds 3 --requests 20000 --connections 20 --warmup 3000 --only express-bare,express-core
 * (names or prefixes, comma separated).
 */
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scenarios, type Scenario } from './scenarios';

interface Options {
  rounds: number;
  requests: number;
  connections: number;
  warmup: number;
  only: string[];
}

interface Sample {
  cpuUsPerRequest: number;
  requestsPerSec: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { rounds: 3, requests: 20_000, connections: 20, warmup: 3_000, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--rounds') opts.rounds = Number(value);
    else if (key === '--requests') opts.requests = Number(value);
    else if (key === '--connections') opts.connections = Number(value);
    else if (key === '--warmup') opts.warmup = Number(value);
    else if (key === '--only') opts.only = value.split(',').filter(Boolean);
    else continue;
    i++;
  }
  return opts;
}

interface CpuReading {
  user: number;
  system: number;
}

function startServer(name: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server.ts'), [name], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => reject(new Error(`${name}: server did not start`)), 60_000);
    child.once('message', (msg: { type: string; port: number }) => {
      clearTimeout(timer);
      resolve({ child, port: msg.port });
    });
    child.once('exit', (code) => reject(new Error(`${name}: server exited with ${code}`)));
  });
}

function readCpu(child: ChildProcess): Promise<CpuReading> {
  return new Promise((resolve) => {
    child.once('message', (msg: CpuReading) => resolve(msg));
    child.send({ type: 'cpu' });
  });
}

function load(port: number, path: string, amount: number, connections: number): Promise<autocannon.Result> {
  return autocannon({ url: `http://127.0.0.1:${port}${path}`, amount, connections, timeout: 10 });
}

async function measure(scenario: Scenario, opts: Options): Promise<Sample> {
  const { child, port } = await startServer(scenario.name);
  try {
    const path = scenario.path ?? '/users/42';
    await load(port, path, opts.warmup, opts.connections);
    const before = await readCpu(child);
    const result = await load(port, path, opts.requests, opts.connections);
    const after = await readCpu(child);
    const cpuUs = after.user - before.user + (after.system - before.system);
    return {
      cpuUsPerRequest: cpuUs / result.requests.total,
      requestsPerSec: result.requests.average,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    };
  } finally {
    child.removeAllListeners('exit');
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function selected(opts: Options): Scenario[] {
  if (opts.only.length === 0) return scenarios;
  const wanted = scenarios.filter((s) => opts.only.some((o) => s.name === o || s.name.startsWith(o)));
  // ratios need the bare app (and the anchor) of each framework in the same run
  for (const framework of new Set(wanted.map((s) => s.framework))) {
    for (const base of [`${framework}-bare`, `${framework}-anchor`]) {
      const s = scenarios.find((x) => x.name === base);
      if (s && !wanted.includes(s)) wanted.unshift(s);
    }
  }
  return wanted;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const list = selected(opts);
  const samples = new Map<string, Sample[]>(list.map((s) => [s.name, []]));
  for (let round = 0; round < opts.rounds; round++) {
    // interleave: each round starts at a different scenario so drift spreads evenly
    const order = list.map((_, i) => list[(i + round) % list.length]);
    for (const scenario of order) {
      const sample = await measure(scenario, opts);
      samples.get(scenario.name)?.push(sample);
      process.stderr.write(`round ${round + 1}/${opts.rounds} ${scenario.name}: ${sample.cpuUsPerRequest.toFixed(1)} µs/req\n`);
    }
  }
  const rows = list.map((s) => {
    const got = samples.get(s.name) ?? [];
    return {
      name: s.name,
      framework: s.framework,
      description: s.description,
      cpuUsPerRequest: median(got.map((x) => x.cpuUsPerRequest)),
      // the least CPU any round took: interference from other work on the machine only adds
      cpuUsPerRequestMin: Math.min(...got.map((x) => x.cpuUsPerRequest)),
      requestsPerSec: median(got.map((x) => x.requestsPerSec)),
      p99Ms: median(got.map((x) => x.p99Ms)),
      non2xx: got.reduce((n, x) => n + x.non2xx, 0),
      errors: got.reduce((n, x) => n + x.errors, 0),
      rounds: got.map((x) => Number(x.cpuUsPerRequest.toFixed(2))),
    };
  });
  const table = rows.map((r) => {
    const bare = rows.find((x) => x.name === `${r.framework}-bare`);
    const anchor = rows.find((x) => x.name === `${r.framework}-anchor`);
    return {
      ...r,
      ratioToBare: bare ? bare.cpuUsPerRequest / r.cpuUsPerRequest : Number.NaN,
      ratioToAnchor: anchor ? anchor.cpuUsPerRequest / r.cpuUsPerRequest : Number.NaN,
      ratioToBareMin: bare ? bare.cpuUsPerRequestMin / r.cpuUsPerRequestMin : Number.NaN,
    };
  });
  const header = '| scenario | CPU µs/req | ratio bare/mode | anchor/mode | min µs/req | ratio of mins | req/s | p99 ms |';
  const lines = [header, '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of table) {
    const flag = r.non2xx + r.errors > 0 ? ` (${r.non2xx} non-2xx, ${r.errors} errors)` : '';
    lines.push(
      `| ${r.name}${flag} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.ratioToBare.toFixed(2)} | ${r.ratioToAnchor.toFixed(2)} | ${r.cpuUsPerRequestMin.toFixed(1)} | ${r.ratioToBareMin.toFixed(2)} | ${Math.round(r.requestsPerSec)} | ${r.p99Ms.toFixed(1)} |`,
    );
  }
  console.log(lines.join('\n'));
  const dir = path.join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const record = { date: new Date().toISOString(), node: process.version, options: opts, results: table };
  const stamp = record.date.replace(/[:.]/g, '-');
  writeFileSync(path.join(dir, `bench-${stamp}.json`), JSON.stringify(record, null, 2));
  writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(record, null, 2));
  console.log(`\nwritten bench/results/bench-${stamp}.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
