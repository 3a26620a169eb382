/**
 * `npm run instructions -w bench -- express-bare,express-core [--requests 1500] [--warmup 5000] [--keep dir]`:
 * user-space instructions per request of each scenario's server, counted by valgrind's callgrind.
 * Instruction counts do not move with other work on the machine. Two limits: they leave out the
 * kernel (system calls), which is most of a bare Express request here; and under valgrind V8's
 * background compiler threads are starved, so hot functions are still being optimised (and run
 * in baseline code) long after a normal run has settled. The table therefore shows the background
 * compilation apart and compares without it, and the figures are a cross-check, not the
 * benchmark. With `VIGIL_PERF_MAP=1` the server writes /tmp/perf-<pid>.map, which names the JIT
 * code in the kept callgrind files. The server starts under valgrind with collection off, is
 * warmed up, then counted over `--requests`.
 */
import autocannon from 'autocannon';
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findScenario } from './scenarios';

interface Options {
  names: string[];
  requests: number;
  warmup: number;
  /** keep the callgrind files in this directory (for callgrind_annotate) */
  keep?: string;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { names: [], requests: 1_500, warmup: 5_000 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--requests') opts.requests = Number(argv[++i]);
    else if (argv[i] === '--warmup') opts.warmup = Number(argv[++i]);
    else if (argv[i] === '--keep') opts.keep = argv[++i];
    else opts.names.push(...argv[i].split(',').filter(Boolean));
  }
  if (opts.names.length === 0) throw new Error('name at least one scenario, e.g. express-bare,express-core');
  return opts;
}

/**
 * V8 on one thread: TurboFan compiles on the main thread when a function gets hot, and the
 * garbage collector runs there too. Under valgrind, background compiler threads are starved and
 * hot code stayed in baseline tiers long after a normal run had optimised it; compiled
 * synchronously it settles during the warm-up as it does outside valgrind, and garbage
 * collection (what allocation costs) is counted with the request that caused it.
 */
const V8_FLAGS = ['--single-threaded'];

async function count(name: string, opts: Options, dir: string): Promise<{ total: number; compile: number }> {
  const scenario = findScenario(name);
  const out = path.join(dir, `${name}.callgrind`);
  const child = fork(path.join(__dirname, 'server.ts'), [name], {
    execPath: 'valgrind',
    execArgv: ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, ...V8_FLAGS, ...(process.env.VIGIL_PERF_MAP ? ['--perf-basic-prof'] : []), '-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (msg: { port: number }) => resolve(msg.port));
    child.once('exit', (code) => reject(new Error(`${name}: server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}${scenario.path ?? '/users/42'}`;
  await autocannon({ url, amount: opts.warmup, connections: 4, timeout: 60 });
  execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
  const result = await autocannon({ url, amount: opts.requests, connections: 4, timeout: 60 });
  child.removeAllListeners('exit');
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.send({ type: 'stop' });
  });
  const text = readFileSync(out, 'utf8');
  const total = Number((/^summary: (\d+)/m.exec(text) ?? /^totals: (\d+)/m.exec(text))?.[1]);
  return { total: total / result.requests.total, compile: backgroundCompile(out) / result.requests.total };
}

/**
 * Instructions V8's background TurboFan threads spent in the counted window (inclusive cost of
 * their compile task). Under valgrind those threads are starved, so optimisation that a normal
 * run finishes within about 20,000 requests is still going on here; the count is shown apart.
 */
function backgroundCompile(file: string): number {
  const text = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const line = text.split('\n').find((l) => l.includes('OptimizingCompileDispatcher::CompileTask::RunInternal'));
  return line === undefined ? 0 : Number(line.trim().split(' ')[0].replace(/,/g, ''));
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const dir = opts.keep ? path.resolve(opts.keep) : mkdtempSync(path.join(tmpdir(), 'vigil-callgrind-'));
  if (opts.keep) mkdirSync(dir, { recursive: true });
  try {
    const rows: Array<{ name: string; total: number; compile: number }> = [];
    for (const name of opts.names) {
      const counted = await count(name, opts, dir);
      rows.push({ name, ...counted });
      process.stderr.write(`${name}: ${Math.round(counted.total)} instructions per request (${Math.round(counted.compile)} in background compilation)\n`);
    }
    const lines = ['| scenario | instructions/req | of which background compile | ratio to first (without compile) |', '|---|---:|---:|---:|'];
    const first = rows[0].total - rows[0].compile;
    for (const r of rows) lines.push(`| ${r.name} | ${Math.round(r.total)} | ${Math.round(r.compile)} | ${(first / (r.total - r.compile)).toFixed(3)} |`);
    console.log(lines.join('\n'));
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
