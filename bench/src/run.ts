/**
 * `npm run bench`: server CPU per request for each scenario against the bare app and the anchor
 * stack of the same framework, measured in the same run. Prints a table and writes JSON under
 * bench/results/.
 *
 * Every scenario's server process is started once, with a bare app of its own as its partner,
 * and warmed up; then, round after round, each scenario gets a short burst of requests right next
 * to a burst on its bare partner (alternating which goes first), and the ratio of the pair is
 * kept. The table shows the median burst cost and the median paired ratio: pairing cancels the
 * slow drift that other work on a shared machine causes, which moved whole rounds by 40-90 % when
 * scenarios were measured minutes apart. `--together` runs the two bursts of a pair at once. `--pin` puts
 * every server thread on CPU 1 and the load generator on CPU 0 (with `taskset`); off by default,
 * because on this project's machine pinned servers served half the requests per second.
 *
 * Options: --rounds 15 --requests 5000 (per burst) --rewarm 1000 (unmeasured, before each burst)
 * --connections 20 --warmup 20000 (V8 stops optimising after about 20,000 requests) --pin --together
 * --minutes 30 (start no new round after this long: a long run ends on time and still reports)
 * --only express-bare,express-core (names or prefixes, comma separated).
 */
import autocannon from 'autocannon';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { scenarios, type Framework, type Scenario } from './scenarios';
import { median, medianInterval, quantile } from './stats';

interface Options {
  rounds: number;
  requests: number;
  connections: number;
  warmup: number;
  rewarm: number;
  pin: boolean;
  /** run each pair's two bursts at the same time instead of one after the other */
  together: boolean;
  /** stop starting new rounds after this many minutes of measuring (0: no limit) */
  minutes: number;
  only: string[];
}

interface Sample {
  cpuUsPerRequest: number;
  /** garbage collection pauses per request (part of the CPU time) */
  gcUsPerRequest: number;
  requestsPerSec: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

interface RunningServer {
  scenario: Scenario;
  child: ChildProcess;
  url: string;
  samples: Sample[];
  /** bare burst / this burst, for bursts measured side by side with the bare app. */
  pairedRatios: number[];
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { rounds: 15, requests: 5_000, connections: 20, warmup: 20_000, rewarm: 1_000, pin: false, together: false, minutes: 0, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--pin') {
      opts.pin = true;
      continue;
    }
    if (key === '--rounds') opts.rounds = Number(value);
    else if (key === '--requests') opts.requests = Number(value);
    else if (key === '--connections') opts.connections = Number(value);
    else if (key === '--together') opts.together = true;
    else if (key === '--warmup') opts.warmup = Number(value);
    else if (key === '--rewarm') opts.rewarm = Number(value);
    else if (key === '--minutes') opts.minutes = Number(value);
    else if (key === '--only') opts.only = value.split(',').filter(Boolean);
    else continue;
    i++;
  }
  return opts;
}

/** Pins every thread of a process to one CPU with taskset; false when that cannot be done here. */
function pinToCpu(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function startServer(scenario: Scenario, pin: boolean): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server.ts'), [scenario.name], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => reject(new Error(`${scenario.name}: server did not start`)), 60_000);
    child.once('message', (msg: { type: string; port: number }) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      if (pin && child.pid !== undefined) pinToCpu(child.pid, 1);
      const url = `http://127.0.0.1:${msg.port}${scenario.path ?? '/users/42'}`;
      resolve({ scenario, child, url, samples: [], pairedRatios: [] });
    });
    child.once('exit', (code) => reject(new Error(`${scenario.name}: server exited with ${code}`)));
  });
}

function stopServer(server: RunningServer): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.send({ type: 'stop' });
  });
}

/** The server's CPU time and its time in garbage collection so far, µs. */
function readCpuUs(child: ChildProcess): Promise<{ cpu: number; gc: number }> {
  return new Promise((resolve) => {
    child.once('message', (msg: { user: number; system: number; gcUs: number }) => resolve({ cpu: msg.user + msg.system, gc: msg.gcUs }));
    child.send({ type: 'cpu' });
  });
}

function load(url: string, amount: number, connections: number): Promise<autocannon.Result> {
  return autocannon({ url, amount, connections, timeout: 10 });
}

async function burst(server: RunningServer, opts: Options): Promise<Sample> {
  // a server idle while the others were measured has had its heap shrunk and code aged by V8:
  // warm it up again, unmeasured, so every burst starts from a running server
  if (opts.rewarm > 0) await load(server.url, opts.rewarm, opts.connections);
  const before = await readCpuUs(server.child);
  const result = await load(server.url, opts.requests, opts.connections);
  const after = await readCpuUs(server.child);
  const sample: Sample = {
    cpuUsPerRequest: (after.cpu - before.cpu) / result.requests.total,
    gcUsPerRequest: (after.gc - before.gc) / result.requests.total,
    // Little's law: autocannon ends a run of `amount` requests on its one-second ticker, so
    // requests / elapsed time would round short bursts to whole seconds
    requestsPerSec: (opts.connections * 1000) / result.latency.mean,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  server.samples.push(sample);
  return sample;
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
  return scenarios.filter((s) => wanted.includes(s));
}

/**
 * One framework's rounds: each scenario's burst beside a burst on its own bare partner, order
 * alternating. Each scenario has a partner of its own so that both servers of a pair sit idle
 * for the same time between rounds: with one bare server shared by every pair, the bare app was
 * always freshly busy while the scenario had waited through all the other pairs, and a second
 * bare app measured as a scenario came out at 0.83 against the first.
 */
async function measureFramework(partners: RunningServer[], others: RunningServer[], opts: Options, deadline: number): Promise<void> {
  for (let round = 0; round < opts.rounds; round++) {
    if (Date.now() > deadline) {
      process.stderr.write(`${others[0].scenario.framework}: time is up after ${round} rounds\n`);
      break;
    }
    for (let j = 0; j < others.length; j++) {
      const i = (j + round) % others.length;
      const server = others[i];
      const bare = partners[i];
      let bareSample: Sample;
      let modeSample: Sample;
      if (opts.together) {
        // both bursts at once: whatever slows the machine down slows both alike
        [bareSample, modeSample] = await Promise.all([burst(bare, opts), burst(server, opts)]);
      } else {
        const bareFirst = (round + i) % 2 === 0;
        const first = await burst(bareFirst ? bare : server, opts);
        const second = await burst(bareFirst ? server : bare, opts);
        [bareSample, modeSample] = bareFirst ? [first, second] : [second, first];
      }
      server.pairedRatios.push(bareSample.cpuUsPerRequest / modeSample.cpuUsPerRequest);
    }
    process.stderr.write(`${others[0].scenario.framework} round ${round + 1}/${opts.rounds} done\n`);
  }
}

interface Row {
  name: string;
  framework: Framework;
  description: string;
  cpuUsPerRequest: number;
  cpuUsPerRequestP25: number;
  gcUsPerRequest: number;
  ratioToBare: number;
  ratioToBareP25: number;
  ratioToBareP75: number;
  /** 95 % confidence interval of the median paired ratio (sign-test order statistics). */
  ratioToBareCi: [number, number];
  ratioToAnchor: number;
  requestsPerSec: number;
  p99Ms: number;
  bursts: number;
  pairedRatios: number[];
  non2xx: number;
  errors: number;
}

/** One row per scenario, in the list's order; a bare row holds every bare partner's bursts. */
function summarise(list: Scenario[], servers: RunningServer[], partners: RunningServer[]): Row[] {
  const rows = list.map((scenario): Row => {
    const isBare = scenario.name === `${scenario.framework}-bare`;
    const server = servers.find((x) => x.scenario === scenario);
    const samples = isBare ? partners.filter((p) => p.scenario === scenario).flatMap((p) => p.samples) : (server?.samples ?? []);
    const pairedRatios = server?.pairedRatios ?? [];
    return {
      name: scenario.name,
      framework: scenario.framework,
      description: scenario.description,
      cpuUsPerRequest: median(samples.map((x) => x.cpuUsPerRequest)),
      cpuUsPerRequestP25: quantile(samples.map((x) => x.cpuUsPerRequest), 0.25),
      gcUsPerRequest: median(samples.map((x) => x.gcUsPerRequest)),
      ratioToBare: isBare ? 1 : median(pairedRatios),
      ratioToBareP25: isBare ? 1 : quantile(pairedRatios, 0.25),
      ratioToBareP75: isBare ? 1 : quantile(pairedRatios, 0.75),
      ratioToBareCi: isBare ? [1, 1] : medianInterval(pairedRatios),
      ratioToAnchor: Number.NaN,
      requestsPerSec: median(samples.map((x) => x.requestsPerSec)),
      p99Ms: median(samples.map((x) => x.p99Ms)),
      bursts: samples.length,
      pairedRatios: pairedRatios.map((x) => Number(x.toFixed(3))),
      non2xx: samples.reduce((n, x) => n + x.non2xx, 0),
      errors: samples.reduce((n, x) => n + x.errors, 0),
    };
  });
  for (const row of rows) {
    const anchor = rows.find((x) => x.name === `${row.framework}-anchor`);
    if (anchor) row.ratioToAnchor = anchor.cpuUsPerRequest / row.cpuUsPerRequest;
  }
  return rows;
}

function table(rows: Row[]): string {
  const lines = [
    '| scenario | CPU µs/req | GC µs/req | ratio bare/mode | 95 % CI of the ratio | ratio IQR | anchor/mode | req/s | p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const flag = r.non2xx + r.errors > 0 ? ` (${r.non2xx} non-2xx, ${r.errors} errors)` : '';
    lines.push(
      `| ${r.name}${flag} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.gcUsPerRequest.toFixed(1)} | ${r.ratioToBare.toFixed(2)} | ${Number.isNaN(r.ratioToBareCi[0]) ? 'under 6 pairs' : `${r.ratioToBareCi[0].toFixed(2)}–${r.ratioToBareCi[1].toFixed(2)}`} | ${r.ratioToBareP25.toFixed(2)}–${r.ratioToBareP75.toFixed(2)} | ${r.ratioToAnchor.toFixed(2)} | ${Math.round(r.requestsPerSec)} | ${r.p99Ms.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  opts.pin = opts.pin && availableParallelism() >= 2 && pinToCpu(process.pid, 0);
  const list = selected(opts);
  const servers: RunningServer[] = [];
  const partners: RunningServer[] = [];
  try {
    // every scenario other than bare gets a bare partner of its own
    const measured = list.filter((s) => s.name !== `${s.framework}-bare`);
    const partnerScenarios = measured.map((s) => {
      const bare = list.find((x) => x.name === `${s.framework}-bare`);
      if (bare === undefined) throw new Error(`no ${s.framework}-bare scenario`);
      return bare;
    });
    const starts = [...measured, ...partnerScenarios];
    // start two at a time (compiling the scenario file is most of a start), then warm each up
    const started: RunningServer[] = [];
    for (let i = 0; i < starts.length; i += 2) started.push(...(await Promise.all(starts.slice(i, i + 2).map((s) => startServer(s, opts.pin)))));
    servers.push(...started.slice(0, measured.length));
    partners.push(...started.slice(measured.length));
    for (const server of started) await load(server.url, opts.warmup, opts.connections);
    const frameworks = [...new Set(measured.map((s) => s.framework))];
    const begun = Date.now();
    for (let f = 0; f < frameworks.length; f++) {
      const others = servers.filter((s) => s.scenario.framework === frameworks[f]);
      const mine = partners.filter((p) => p.scenario.framework === frameworks[f]);
      // a time budget is shared out evenly between the frameworks
      const deadline = opts.minutes > 0 ? begun + (opts.minutes * 60_000 * (f + 1)) / frameworks.length : Number.POSITIVE_INFINITY;
      await measureFramework(mine, others, opts, deadline);
    }
  } finally {
    await Promise.all([...servers, ...partners].map(stopServer));
  }
  const rows = summarise(list, servers, partners);
  console.log(table(rows));
  const dir = path.join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const record = { date: new Date().toISOString(), node: process.version, options: opts, results: rows };
  const stamp = record.date.replace(/[:.]/g, '-');
  writeFileSync(path.join(dir, `bench-${stamp}.json`), JSON.stringify(record, null, 2));
  writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(record, null, 2));
  console.log(`\nwritten bench/results/bench-${stamp}.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
