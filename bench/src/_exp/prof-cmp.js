// node prof-cmp.js requests a.cpuprofile b.cpuprofile ... : µs per request by category
const fs = require('fs');
const N = Number(process.argv[2]);
function cats(file) {
  const p = JSON.parse(fs.readFileSync(file));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const cat = new Map(); let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]); const d = p.timeDeltas[i] ?? 0; const f = n.callFrame; const u = f.url;
    if (f.functionName === '(idle)') continue;
    total += d;
    let c = 'node-internal';
    if (f.functionName === '(garbage collector)') c = 'gc'; else if (f.functionName === '(program)') c = 'program';
    else if (/packages\/|@vigil/.test(u)) c = 'vigil:' + u.replace(/.*packages\//, '').replace(/\/.*/, '');
    else if (/opentelemetry/.test(u)) c = 'otel'; else if (/pino|sonic-boom/.test(u)) c = 'pino';
    else if (/node_modules/.test(u)) c = 'express+deps'; else if (/bench/.test(u)) c = 'bench-app'; else if (u === '') c = 'native:' + f.functionName;
    if (/async_hooks/.test(u)) c = 'async_hooks';
    if (c.startsWith('native:') && !/writev|writeBuffer|writeString|utf8Write|Hash|digest/.test(c)) c = 'native:other';
    cat.set(c, (cat.get(c) ?? 0) + d);
  }
  cat.set('TOTAL', total);
  return cat;
}
const all = process.argv.slice(3).map(cats);
const keys = [...new Set(all.flatMap((m) => [...m.keys()]))].sort((a, b) => (all[all.length - 1].get(b) ?? 0) - (all[all.length - 1].get(a) ?? 0));
for (const k of keys) console.log(k.padEnd(22), all.map((m) => ((m.get(k) ?? 0) / N).toFixed(1).padStart(7)).join(''));
