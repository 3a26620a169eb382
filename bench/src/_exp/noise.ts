import autocannon from 'autocannon';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

interface Srv { child: ChildProcess; url: string; name: string }
function start(name: string): Promise<Srv> {
  return new Promise((resolve) => {
    const child = fork(path.join(__dirname, '..', 'server.ts'), [name], { execArgv: ['-r', 'ts-node/register/transpile-only'], env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('message', (m: { port: number }) => resolve({ child, name, url: `http://127.0.0.1:${m.port}/users/42` }));
  });
}
function cpu(s: Srv): Promise<number> {
  return new Promise((resolve) => { s.child.once('message', (m: { user: number; system: number }) => resolve(m.user + m.system)); s.child.send({ type: 'cpu' }); });
}
function ac(url: string, o: { amount?: number; duration?: number }): Promise<autocannon.Result> { return autocannon({ url, connections: 20, ...o } as never); }
function wrk(url: string, seconds: number): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('taskset', ['-c', '0', 'wrk', '-t1', '-c20', `-d${seconds}s`, url]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => resolve(Number(/(\d+) requests in/.exec(out)![1])));
  });
}
async function measure(s: Srv, run: () => Promise<number>): Promise<number> { const a = await cpu(s); const n = await run(); const b = await cpu(s); return (b - a) / n; }
function stats(label: string, r: number[]): void {
  const l = r.map(Math.log); const m = l.reduce((a, b) => a + b, 0) / l.length; const sd = Math.sqrt(l.reduce((a, b) => a + (b - m) ** 2, 0) / (l.length - 1));
  const sorted = [...r].sort((a, b) => a - b);
  console.log(`${label}: n=${r.length} geomean=${Math.exp(m).toFixed(3)} median=${sorted[Math.floor(r.length / 2)].toFixed(3)} sdlog=${sd.toFixed(3)} min=${sorted[0].toFixed(3)} max=${sorted[r.length - 1].toFixed(3)}`);
}
async function main(): Promise<void> {
  const [na, nb] = (process.argv[2] ?? 'express-bare,express-bare-twin').split(',');
  const modes = (process.argv[3] ?? 'seq-ac,tog-ac,seq-wrk,tog-wrk').split(',');
  const pairs = Number(process.argv[4] ?? 8);
  const secs = Number(process.argv[5] ?? 2);
  const A = await start(na); const B = await start(nb);
  if (process.env.PIN) { for (const s of [A, B]) require('node:child_process').execFileSync('taskset', ['-a', '-cp', '1', String(s.child.pid)], { stdio: 'ignore' }); require('node:child_process').execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' }); }
  await ac(A.url, { amount: 20000 }); await ac(B.url, { amount: 20000 });
  const res: Record<string, number[]> = {}; const abs: Record<string, number[][]> = {};
  for (let i = 0; i < pairs; i++) {
    for (const mode of modes) {
      let a: number, b: number;
      const acd = async (s: Srv) => (await ac(s.url, { duration: secs })).requests.total;
      const wr = (s: Srv) => wrk(s.url, secs);
      const runner = mode.endsWith('wrk') ? wr : acd;
      if (mode.startsWith('seq')) {
        if (i % 2) { b = await measure(B, () => runner(B)); a = await measure(A, () => runner(A)); }
        else { a = await measure(A, () => runner(A)); b = await measure(B, () => runner(B)); }
      } else {
        const [ca0, cb0] = await Promise.all([cpu(A), cpu(B)]);
        let naq: number, nbq: number;
        if (i % 2) [nbq, naq] = await Promise.all([runner(B), runner(A)]);
        else [naq, nbq] = await Promise.all([runner(A), runner(B)]);
        const [ca1, cb1] = await Promise.all([cpu(A), cpu(B)]);
        a = (ca1 - ca0) / naq; b = (cb1 - cb0) / nbq;
      }
      (res[mode] ??= []).push(a / b); (abs[mode] ??= []).push([a, b]);
      console.log(mode, i, a.toFixed(1), b.toFixed(1), (a / b).toFixed(3));
    }
  }
  for (const m of modes) stats(`${na}/${nb} ${m} (A/B cpu ratio)`, res[m]);
  A.child.kill(); B.child.kill();
}
main();
