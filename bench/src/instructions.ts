/**
 * `npm run instructions -w bench -- express-bare,express-core [--requests 3000] [--warmup 20000] [--keep dir]`
 * (`--warmup 30000 --requests 20000` for figures to quote: short windows catch a compile or a major GC or not):
 * user-space instructions per request of each scenario's server, counted by valgrind's callgrind,
 * two servers at a time. Instruction counts do not move with other work on the machine, so they
 * resolve differences of 1 % that the CPU-time benchmark cannot on a shared machine. V8 runs
 * single-threaded (see `V8_FLAGS`); the optimising compiler's own work is shown apart and left
 * out of the ratio, garbage collection is kept. The counts leave out the kernel: system calls are
 * the same per request whatever the scenario (vigil makes none per request; the logging
 * destination writes once per 4 KB of lines), so a ratio of user-space instructions is stricter
 * than the same ratio of CPU time. With `VIGIL_PERF_MAP=1`
 * the server writes /tmp/perf-<pid>.map, which names the JIT code in the kept callgrind files
 * (addresses can be reused after code is collected, so check names that look out of place). The
 * server starts under valgrind with collection off, is warmed up, then counted over `--requests`.
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
  const opts: Options = { names: [], requests: 3_000, warmup: 20_000 };
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

async function count(name: string, opts: Options, dir: string): Promise<{ total: number; compile: number; gc: number }> {
  const scenario = findScenario(name);
  const out = path.join(dir, `${name}.callgrind`);
  const child = fork(path.join(__dirname, 'server.js'), [name], {
    execPath: 'valgrind',
    execArgv: ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, ...V8_FLAGS, ...(process.env.VIGIL_PERF_MAP ? ['--perf-basic-prof'] : [])],
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
  const { compile, gc } = breakdown(out);
  const n = result.requests.total;
  return { total: total / n, compile: compile / n, gc: gc / n };
}

/** Inclusive instructions of the first function whose name contains `needle`, from callgrind_annotate. */
function inclusive(annotated: string, needle: string): number {
  const line = annotated.split('\n').find((l) => l.includes(needle));
  return line === undefined ? 0 : Number(line.trim().split(' ')[0].replace(/,/g, ''));
}

/**
 * What the counted window spent in V8's optimising compiler and in garbage collection. The
 * compiler is still at work after the warm-up (re-optimising after deoptimisations), by amounts
 * that differ by ±10,000 instructions per request between two runs of the same server; it is a
 * one-off cost that a longer warm-up keeps shrinking, so it is shown apart and left out of the
 * ratio. Garbage collection stays in: it is what allocation costs.
 */
function breakdown(file: string): { compile: number; gc: number } {
  const text = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { compile: inclusive(text, 'Compiler::CompileOptimized') + inclusive(text, 'OptimizingCompileDispatcher::CompileTask::RunInternal'), gc: inclusive(text, 'Heap::CollectGarbage') };
}

interface Row {
  name: string;
  total: number;
  compile: number;
  gc: number;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const dir = opts.keep ? path.resolve(opts.keep) : mkdtempSync(path.join(tmpdir(), 'vigil-callgrind-'));
  if (opts.keep) mkdirSync(dir, { recursive: true });
  try {
    const rows: Row[] = [];
    // two servers at a time (instruction counts do not depend on what else runs)
    for (let i = 0; i < opts.names.length; i += 2) {
      const batch = opts.names.slice(i, i + 2);
      const counted = await Promise.all(batch.map((name) => count(name, opts, dir)));
      batch.forEach((name, k) => {
        rows.push({ name, ...counted[k] });
        process.stderr.write(`${name}: ${Math.round(counted[k].total)} instructions per request (${Math.round(counted[k].compile)} optimising compiler, ${Math.round(counted[k].gc)} GC)\n`);
      });
    }
    const lines = [
      '| scenario | instructions/req | optimising compiler (left out) | GC | net | ratio to the bare app (net) | ratio without GC |',
      '|---|---:|---:|---:|---:|---:|---:|',
    ];
    const net = (r: Row): number => r.total - r.compile;
    // a major collection falls into a counted window or not (Koa's bare app: 8,600 one run, 1,000
    // the next), so the ratio is also given without GC
    for (const r of rows) {
      const framework = r.name.split('-')[0];
      const bare = rows.find((x) => x.name === `${framework}-bare`) ?? rows[0];
      lines.push(`| ${r.name} | ${Math.round(r.total)} | ${Math.round(r.compile)} | ${Math.round(r.gc)} | ${Math.round(net(r))} | ${(net(bare) / net(r)).toFixed(3)} | ${((net(bare) - bare.gc) / (net(r) - r.gc)).toFixed(3)} |`);
    }
    console.log(lines.join('\n'));
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
