/**
 * `npm run instructions -w bench -- express-bare,express-core [--requests 1500] [--warmup 5000] [--keep dir]`:
 * user-space instructions per request of each scenario's server, counted by valgrind's callgrind.
 * Instruction counts do not move with other work on the machine, so they show small differences
 * that CPU time on a shared machine hides. They leave out the kernel (system calls), which is most
 * of a bare Express request here, so the ratios are harsher than the CPU-time ratios of
 * `npm run bench`. The server starts uninstrumented, is warmed up, then counted over `--requests`.
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

async function count(name: string, opts: Options, dir: string): Promise<number> {
  const scenario = findScenario(name);
  const out = path.join(dir, `${name}.callgrind`);
  const child = fork(path.join(__dirname, 'server.ts'), [name], {
    execPath: 'valgrind',
    execArgv: ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, ...(process.env.VIGIL_PERF_MAP ? ['--perf-basic-prof'] : []), '-r', 'ts-node/register/transpile-only'],
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
  return total / result.requests.total;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const dir = opts.keep ? path.resolve(opts.keep) : mkdtempSync(path.join(tmpdir(), 'vigil-callgrind-'));
  if (opts.keep) mkdirSync(dir, { recursive: true });
  try {
    const rows: Array<{ name: string; perRequest: number }> = [];
    for (const name of opts.names) {
      const perRequest = await count(name, opts, dir);
      rows.push({ name, perRequest });
      process.stderr.write(`${name}: ${Math.round(perRequest)} instructions per request\n`);
    }
    const lines = ['| scenario | instructions/req | ratio to first |', '|---|---:|---:|'];
    for (const r of rows) lines.push(`| ${r.name} | ${Math.round(r.perRequest)} | ${(rows[0].perRequest / r.perRequest).toFixed(3)} |`);
    console.log(lines.join('\n'));
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
