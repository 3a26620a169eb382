// node prof-diff.js bare.cpuprofile bareReq mode.cpuprofile modeReq [N]: per-function µs/request, mode - bare
const fs = require('fs');
function load(file, n) {
  const p = JSON.parse(fs.readFileSync(file)); const byId = new Map(p.nodes.map((x) => [x.id, x])); const m = new Map(); let total = 0;
  for (let i = 0; i < p.samples.length; i++) { const f = byId.get(p.samples[i]).callFrame; if (f.functionName === '(idle)') continue; const d = p.timeDeltas[i] ?? 0; total += d;
    const k = `${f.functionName || '(anon)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\/packages\//, '@').replace(/^node:/, '')}:${f.lineNumber}`; m.set(k, (m.get(k) ?? 0) + d); }
  for (const [k, v] of m) m.set(k, v / n); m.set('TOTAL', total / n); return m;
}
const [a, an, b, bn, N] = process.argv.slice(2);
const A = load(a, Number(an)), B = load(b, Number(bn));
const keys = [...new Set([...A.keys(), ...B.keys()])];
const rows = keys.map((k) => [k, (B.get(k) ?? 0) - (A.get(k) ?? 0), A.get(k) ?? 0, B.get(k) ?? 0]).sort((x, y) => y[1] - x[1]);
console.log('TOTAL bare', A.get('TOTAL').toFixed(1), 'mode', B.get('TOTAL').toFixed(1));
for (const r of rows.slice(0, Number(N ?? 30))) console.log(r[1].toFixed(2).padStart(7), r[2].toFixed(2).padStart(7), r[3].toFixed(2).padStart(7), r[0]);
console.log('...most negative:'); for (const r of rows.slice(-8)) console.log(r[1].toFixed(2).padStart(7), r[2].toFixed(2).padStart(7), r[3].toFixed(2).padStart(7), r[0]);
