/**
 * `npm run bench`: server CPU per request for each scenario against the bare app and the anchor
 * stack of the same framework, measured in the same run. Prints a table and writes JSON under
 * bench/results/.
 *
 * Method, per round and per scenario (the order rotating from round to round): a fresh server
 * process of the scenario and a fresh bare one are started and warmed up side by side
 * (`--warmup` requests each), then pinned to the same CPU (the load generator, this process, has
 * the other) and kept under the same load at the same time for `--rewarm` seconds and
 * `--windows` back-to-back windows of `--seconds`; each window gives one paired ratio, bare CPU
 * per request / scenario CPU per request. Then both stop.
 *
 * Why each part:
 * - On a shared VM a vCPU's speed changes by up to 1.6x from one second to the next (the same
 *   loop took 20 or 32 ms), and the two vCPUs are seldom alike. Bursts measured one after the
 *   other, or at once on different CPUs, carried that into every pair (a bare app against a copy
 *   of itself: standard deviation of the log ratio 0.13 per pair). Two servers that take turns on
 *   one CPU within milliseconds see the same speeds.
 * - Both stay saturated for the whole window (20 connections each), so the kernel gives each about
 *   half the CPU and the cheaper one serves more requests.
 * - Windows lie in the middle of the load, so neither server's start or end of load falls in one
 *   (which load starts first does not matter); a server's count is the responses its load had
 *   received when the server answered the reading.
 * - Fresh processes each round: a server left idle for a minute while others were measured came
 *   back 10-25 % dearer than its partner for about ten seconds, and two processes of the same app
 *   can differ by a few per cent for their whole life (what V8 happened to compile). New pairs
 *   every round spread that over the rounds instead of fixing it into one scenario.
 *
 * Options: --rounds 4 --windows 5 (per round) --seconds 2 --rewarm 1 --connections 20 (per
 * server) --warmup 20000 (requests per server; V8 stops optimising after about 20,000) --minutes
 * 30 (start no new round after this long: a long run ends on time and still reports) --only
 * express-bare,express-core (names or prefixes, comma separated). --unpinned leaves the scheduler
 * to place the servers (the method falls back to that where `taskset` or a second CPU is missing).
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
  /** measured windows per round */
  windows: number;
  /** seconds per measured window */
  seconds: number;
  /** unmeasured seconds of the same load before the first window */
  rewarm: number;
  connections: number;
  warmup: number;
  /** pin both servers of a pair to one CPU and the load to another */
  pin: boolean;
  /** stop starting new rounds after this many minutes of measuring (0: no limit) */
  minutes: number;
  only: string[];
}

interface Sample {
  cpuUsPerRequest: number;
  /** the kernel's part of the CPU time */
  systemUsPerRequest: number;
  /** wall time in garbage-collection pauses per request (part of the CPU time) */
  gcUsPerRequest: number;
  requestsPerSec: number;
}

/** Everything measured of one scenario, over all its rounds. */
interface Tally {
  scenario: Scenario;
  samples: Sample[];
  /** partner window / this window, for windows measured beside the bare partner */
  pairedRatios: number[];
  /** this server's requests per second / its partner's, in the same windows */
  throughputRatios: number[];
  p99Ms: number[];
  non2xx: number;
  errors: number;
}

interface RunningServer {
  scenario: Scenario;
  child: ChildProcess;
  url: string;
}

type NumericOption = 'rounds' | 'windows' | 'seconds' | 'rewarm' | 'connections' | 'warmup' | 'minutes';

function parseOptions(argv: string[]): Options {
  const opts: Options = { rounds: 4, windows: 5, seconds: 2, rewarm: 1, connections: 20, warmup: 20_000, pin: true, minutes: 0, only: [] };
  const numeric: Record<string, NumericOption> = {
    '--rounds': 'rounds',
    '--windows': 'windows',
    '--seconds': 'seconds',
    '--rewarm': 'rewarm',
    '--connections': 'connections',
    '--warmup': 'warmup',
    '--minutes': 'minutes',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--unpinned') opts.pin = false;
    else if (key === '--only') opts.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (numeric[key] !== undefined) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) throw new TypeError(`${key} needs a number, got ${argv[i]}`);
      opts[numeric[key]] = value;
    } else throw new TypeError(`unknown option ${key}`);
  }
  if (opts.seconds <= 0) throw new TypeError('--seconds must be above 0');
  if (!Number.isInteger(opts.windows) || opts.windows < 1) throw new TypeError('--windows must be a whole number above 0');
  return opts;
}

/** The CPU the two servers of the pair being measured share. */
const SERVER_CPU = 1;
/** The load generator's CPU. */
const LOAD_CPU = 0;

/** Pins every thread of a process to one CPU with taskset; false when that cannot be done here. */
function pinToCpu(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Moves a server's threads to `cpu` (when pinning is on). */
function pinServer(server: RunningServer, cpu: number, pin: boolean): void {
  if (pin && server.child.pid !== undefined) pinToCpu(server.child.pid, cpu);
}

function startServer(scenario: Scenario, pin: boolean): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    // compiled JavaScript, as apps run: ts-node would load `repl`, which loads `domain`, which
    // replaces EventEmitter's init and emit for the whole process
    const child = fork(path.join(__dirname, 'server.js'), [scenario.name], {
      // BENCH_SERVER_ARGS: node flags for the servers, e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`
      execArgv: (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean),
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => reject(new Error(`${scenario.name}: server did not start`)), 60_000);
    child.once('message', (msg: { type: string; port: number }) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      if (pin && child.pid !== undefined) pinToCpu(child.pid, SERVER_CPU);
      resolve({ scenario, child, url: `http://127.0.0.1:${msg.port}${scenario.path ?? '/users/42'}` });
    });
    child.once('exit', (code) => reject(new Error(`${scenario.name}: server exited with ${code}`)));
  });
}

function stopServer(server: RunningServer): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.send({ type: 'stop' });
  });
}

/** The server's CPU time (and the kernel's part of it) and its time in garbage collection so far, µs. */
function readCpuUs(child: ChildProcess): Promise<{ cpu: number; system: number; gc: number }> {
  return new Promise((resolve) => {
    child.once('message', (msg: { user: number; system: number; gcUs: number }) => resolve({ cpu: msg.user + msg.system, system: msg.system, gc: msg.gcUs }));
    child.send({ type: 'cpu' });
  });
}

async function warm(url: string, connections: number, amount: number): Promise<void> {
  // autocannon takes an amount of 0 as none given (a 10-second run) and rejects one below its connections
  if (amount > 0) await autocannon({ url, connections, timeout: 10, amount: Math.max(amount, connections) });
}

/** A running load: its result when it ends, and how many responses it has had so far. */
interface RunningLoad {
  done: Promise<autocannon.Result>;
  responses: () => number;
}

function startLoad(url: string, connections: number, duration: number): RunningLoad {
  let responses = 0;
  let tracker: NodeJS.EventEmitter | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    tracker = autocannon({ url, connections, timeout: 10, duration }, (error, result) => (error ? reject(error) : resolve(result))) as unknown as NodeJS.EventEmitter;
  });
  (tracker as NodeJS.EventEmitter).on('response', () => responses++);
  return { done, responses: () => responses };
}

/** A server's CPU time, GC time and the responses its load had received when it answered. */
interface Reading {
  cpu: number;
  system: number;
  gc: number;
  responses: number;
  at: number;
}

async function reading(server: RunningServer, running: RunningLoad): Promise<Reading> {
  const usage = await readCpuUs(server.child);
  return { ...usage, responses: running.responses(), at: Date.now() };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function sampleBetween(before: Reading, after: Reading): Sample {
  const requests = after.responses - before.responses;
  return {
    cpuUsPerRequest: (after.cpu - before.cpu) / requests,
    systemUsPerRequest: (after.system - before.system) / requests,
    gcUsPerRequest: (after.gc - before.gc) / requests,
    requestsPerSec: requests / ((after.at - before.at) / 1000),
  };
}

/**
 * One round of a scenario: it and a bare partner, both fresh, warmed up together, then loaded at
 * the same time and read at the start of each window. `bareFirst` decides whose load starts first.
 */
async function measureRound(scenario: Tally, bare: Tally, opts: Options, bareFirst: boolean): Promise<void> {
  const servers = await Promise.all([startServer(bare.scenario, opts.pin), startServer(scenario.scenario, opts.pin)]);
  const order = bareFirst ? servers : [servers[1], servers[0]];
  try {
    // warmed up side by side on both CPUs (quicker; nothing is measured), then measured on one
    pinServer(servers[0], LOAD_CPU, opts.pin);
    await Promise.all(order.map((s) => warm(s.url, opts.connections, opts.warmup)));
    pinServer(servers[0], SERVER_CPU, opts.pin);
    const loads = order.map((s) => startLoad(s.url, opts.connections, opts.rewarm + opts.windows * opts.seconds + 0.25));
    const begun = Date.now();
    await sleep(opts.rewarm * 1000);
    let before = await Promise.all(order.map((s, k) => reading(s, loads[k])));
    for (let w = 1; w <= opts.windows; w++) {
      await sleep(begun + (opts.rewarm + w * opts.seconds) * 1000 - Date.now());
      const after = await Promise.all(order.map((s, k) => reading(s, loads[k])));
      const [bareSample, modeSample] = (bareFirst ? [0, 1] : [1, 0]).map((k) => sampleBetween(before[k], after[k]));
      bare.samples.push(bareSample);
      scenario.samples.push(modeSample);
      scenario.pairedRatios.push(bareSample.cpuUsPerRequest / modeSample.cpuUsPerRequest);
      scenario.throughputRatios.push(modeSample.requestsPerSec / bareSample.requestsPerSec);
      if (process.env.BENCH_DEBUG) {
        const show = (x: Sample): string => `${x.cpuUsPerRequest.toFixed(0)} µs (sys ${x.systemUsPerRequest.toFixed(0)}) gc ${x.gcUsPerRequest.toFixed(0)} ${x.requestsPerSec.toFixed(0)}/s`;
        process.stderr.write(`${scenario.scenario.name} w${w}: bare ${show(bareSample)} | mode ${show(modeSample)} | ratio ${(bareSample.cpuUsPerRequest / modeSample.cpuUsPerRequest).toFixed(3)}\n`);
      }
      before = after;
    }
    const results = await Promise.all(loads.map((l) => l.done));
    if (process.env.BENCH_DEBUG) process.stderr.write(`requests served: ${order.map((s, k) => `${s.scenario.name} pid ${s.child.pid} ${opts.warmup + results[k].requests.total}`).join(', ')}\n`);
    (bareFirst ? [bare, scenario] : [scenario, bare]).forEach((tally, k) => {
      tally.p99Ms.push(results[k].latency.p99);
      tally.non2xx += results[k].non2xx;
      tally.errors += results[k].errors + results[k].timeouts;
    });
  } finally {
    await Promise.all(servers.map(stopServer));
  }
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

function isBare(scenario: Scenario): boolean {
  return scenario.name === `${scenario.framework}-bare`;
}

interface Row {
  name: string;
  framework: Framework;
  description: string;
  cpuUsPerRequest: number;
  systemUsPerRequest: number;
  gcUsPerRequest: number;
  ratioToBare: number;
  ratioToBareP25: number;
  ratioToBareP75: number;
  /** 95 % confidence interval of the median paired ratio (sign-test order statistics). */
  ratioToBareCi: [number, number];
  /** median of (this server's requests per second / its partner's) over the same windows */
  throughputToBare: number;
  ratioToAnchor: number;
  requestsPerSec: number;
  p99Ms: number;
  windows: number;
  pairedRatios: number[];
  non2xx: number;
  errors: number;
}

function row(tally: Tally): Row {
  const bare = isBare(tally.scenario);
  const ratios = tally.pairedRatios;
  return {
    name: tally.scenario.name,
    framework: tally.scenario.framework,
    description: tally.scenario.description,
    cpuUsPerRequest: median(tally.samples.map((x) => x.cpuUsPerRequest)),
    systemUsPerRequest: median(tally.samples.map((x) => x.systemUsPerRequest)),
    gcUsPerRequest: median(tally.samples.map((x) => x.gcUsPerRequest)),
    ratioToBare: bare ? 1 : median(ratios),
    ratioToBareP25: bare ? 1 : quantile(ratios, 0.25),
    ratioToBareP75: bare ? 1 : quantile(ratios, 0.75),
    ratioToBareCi: bare ? [1, 1] : medianInterval(ratios),
    throughputToBare: bare ? 1 : median(tally.throughputRatios),
    ratioToAnchor: Number.NaN,
    requestsPerSec: median(tally.samples.map((x) => x.requestsPerSec)),
    p99Ms: median(tally.p99Ms),
    windows: tally.samples.length,
    pairedRatios: ratios.map((x) => Number(x.toFixed(3))),
    non2xx: tally.non2xx,
    errors: tally.errors,
  };
}

/** One row per scenario, in the list's order; anchor/mode compares median ratios to bare. */
function summarise(tallies: Tally[]): Row[] {
  const rows = tallies.map(row);
  for (const r of rows) {
    const anchor = rows.find((x) => x.name === `${r.framework}-anchor`);
    if (anchor) r.ratioToAnchor = r.ratioToBare / anchor.ratioToBare;
  }
  return rows;
}

function table(rows: Row[]): string {
  const lines = [
    '| scenario | CPU µs/req | of which kernel | GC µs/req | ratio bare/mode | 95 % CI of the ratio | ratio IQR | throughput vs bare | anchor/mode | req/s | p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const flag = r.non2xx + r.errors > 0 ? ` (${r.non2xx} non-2xx, ${r.errors} errors)` : '';
    const ci = Number.isNaN(r.ratioToBareCi[0]) ? 'under 6 pairs' : `${r.ratioToBareCi[0].toFixed(3)}–${r.ratioToBareCi[1].toFixed(3)}`;
    lines.push(
      `| ${r.name}${flag} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.systemUsPerRequest.toFixed(1)} | ${r.gcUsPerRequest.toFixed(1)} | ${r.ratioToBare.toFixed(3)} | ${ci} | ${r.ratioToBareP25.toFixed(2)}–${r.ratioToBareP75.toFixed(2)} | ${r.throughputToBare.toFixed(2)} | ${r.ratioToAnchor.toFixed(2)} | ${Math.round(r.requestsPerSec)} | ${r.p99Ms.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  opts.pin = opts.pin && availableParallelism() >= 2 && pinToCpu(process.pid, LOAD_CPU);
  if (!opts.pin) process.stderr.write('servers not pinned: pairs share whichever CPUs the scheduler gives them (noisier)\n');
  const list = selected(opts);
  const tallies = list.map((scenario): Tally => ({ scenario, samples: [], pairedRatios: [], throughputRatios: [], p99Ms: [], non2xx: 0, errors: 0 }));
  const measured = tallies.filter((t) => !isBare(t.scenario));
  const begun = Date.now();
  for (let round = 0; round < opts.rounds; round++) {
    if (opts.minutes > 0 && Date.now() - begun > opts.minutes * 60_000) {
      process.stderr.write(`time is up after ${round} rounds\n`);
      break;
    }
    for (let j = 0; j < measured.length; j++) {
      const i = (j + round) % measured.length;
      const tally = measured[i];
      const bare = tallies.find((t) => t.scenario.name === `${tally.scenario.framework}-bare`);
      if (bare === undefined) throw new Error(`no ${tally.scenario.framework}-bare scenario`);
      await measureRound(tally, bare, opts, (round + i) % 2 === 0);
    }
    process.stderr.write(`round ${round + 1}/${opts.rounds} done\n`);
  }
  const rows = summarise(tallies);
  console.log(table(rows));
  const dir = path.join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const record = { date: new Date().toISOString(), node: process.version, method: opts.pin ? 'fresh pair per round, on one CPU, at once' : 'fresh pair per round, at once, unpinned', options: opts, results: rows };
  const stamp = record.date.replace(/[:.]/g, '-');
  writeFileSync(path.join(dir, `bench-${stamp}.json`), JSON.stringify(record, null, 2));
  writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(record, null, 2));
  console.log(`\nwritten bench/results/bench-${stamp}.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
