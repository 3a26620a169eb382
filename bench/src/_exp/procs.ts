import autocannon from 'autocannon';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
interface Srv { child: ChildProcess; url: string }
function start(name: string): Promise<Srv> {
  return new Promise((resolve) => {
    const child = fork(path.join(__dirname, '..', 'server.ts'), [name], { execArgv: ['-r', 'ts-node/register/transpile-only'], env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('message', (m: { port: number }) => { execFileSync('taskset', ['-a', '-cp', '1', String(child.pid)], { stdio: 'ignore' }); resolve({ child, url: `http://127.0.0.1:${m.port}/users/42` }); });
  });
}
function cpu(s: Srv): Promise<number> { return new Promise((r) => { s.child.once('message', (m: { user: number; system: number }) => r(m.user + m.system)); s.child.send({ type: 'cpu' }); }); }
function load(url: string, duration: number) { let n = 0; let t: any; const done = new Promise((res) => { t = autocannon({ url, connections: 20, duration }, () => res(0)); }); t.on('response', () => n++); return { done, n: () => n }; }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function pair(a: Srv, b: Srv): Promise<number> {
  const la = load(a.url, 2.8), lb = load(b.url, 2.8);
  await sleep(500);
  const [ca, cb] = await Promise.all([cpu(a).then((c) => [c, la.n()]), cpu(b).then((c) => [c, lb.n()])]);
  await sleep(2000);
  const [da, db] = await Promise.all([cpu(a).then((c) => [c, la.n()]), cpu(b).then((c) => [c, lb.n()])]);
  await Promise.all([la.done, lb.done]);
  return ((da[0] - ca[0]) / (da[1] - ca[1])) / ((db[0] - cb[0]) / (db[1] - cb[1]));
}
async function main() {
  execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)]);
  const name = process.argv[2] ?? 'express-bare'; const N = Number(process.argv[3] ?? 4); const R = Number(process.argv[4] ?? 5);
  const S: Srv[] = []; for (let i = 0; i < N; i++) S.push(await start(name));
  for (const s of S) await new Promise((r) => autocannon({ url: s.url, connections: 20, amount: 20000 }, r));
  const logs: number[][] = S.map(() => []);
  for (let r = 0; r < R; r++) {
    const line: string[] = [];
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) {
      const x = (r % 2) ? 1 / (await pair(S[j], S[i])) : await pair(S[i], S[j]);
      logs[i].push(Math.log(x)); logs[j].push(-Math.log(x)); line.push(`${i}/${j}=${x.toFixed(3)}`);
    }
    console.log('round', r, line.join(' '));
  }
  console.log('per-process relative cost (exp mean log vs others):', logs.map((l) => Math.exp(l.reduce((a, b) => a + b, 0) / l.length).toFixed(3)).join(' '));
  for (const s of S) s.child.kill();
}
main();
