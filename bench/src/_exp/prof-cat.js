// node prof-cat.js a.cpuprofile: non-idle self time by category, in % of non-idle
const p = JSON.parse(require('fs').readFileSync(process.argv[2]));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const cat = new Map(); let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]); const d = p.timeDeltas[i] ?? 0; const f = n.callFrame; const u = f.url;
  if (f.functionName === '(idle)') continue;
  total += d;
  let c = 'node-internal';
  if (f.functionName === '(garbage collector)') c = 'gc'; else if (f.functionName === '(program)') c = 'program';
  else if (/packages\/|@vigil/.test(u)) c = 'vigil:' + u.replace(/.*packages\//, '').replace(/\/dist.*/, '');
  else if (/opentelemetry/.test(u)) c = 'otel'; else if (/pino|sonic-boom/.test(u)) c = 'pino';
  else if (/node_modules/.test(u)) c = 'express+deps'; else if (/bench/.test(u)) c = 'bench-app'; else if (u === '') c = 'native';
  if (/async_hooks/.test(u)) c = 'async_hooks';
  cat.set(c, (cat.get(c) ?? 0) + d);
}
console.log(process.argv[2].split('/').pop(), 'non-idle ms', (total / 1000).toFixed(0));
for (const [k, v] of [...cat.entries()].sort((a, b) => b[1] - a[1])) console.log((100 * v / total).toFixed(1).padStart(6), k);
