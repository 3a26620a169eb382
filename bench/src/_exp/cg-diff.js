// node cg-diff.js a.callgrind a.map b.callgrind b.map requests [N]
const { execFileSync } = require('child_process');
const [a, am, b, bm, reqs, N] = process.argv.slice(2);
function load(f, m) { const out = execFileSync('node', [__dirname + '/cg-self.js', f, m, '100000'], { encoding: 'utf8', maxBuffer: 1 << 28 }); const r = new Map(); for (const l of out.split('\n').slice(1)) { const mm = /^\s*(\d+)\s+\S+\s(.*)$/.exec(l); if (mm) r.set(mm[2], (r.get(mm[2]) ?? 0) + Number(mm[1])); } return r; }
const A = load(a, am), B = load(b, bm); const n = Number(reqs);
const keys = new Set([...A.keys(), ...B.keys()]);
const rows = [...keys].map((k) => [k, ((B.get(k) ?? 0) - (A.get(k) ?? 0)) / n, (A.get(k) ?? 0) / n, (B.get(k) ?? 0) / n]).sort((x, y) => y[1] - x[1]);
let sum = 0; for (const r of rows) sum += r[1]; console.log('total diff per request', sum.toFixed(0));
for (const r of rows.slice(0, Number(N ?? 40))) console.log(r[1].toFixed(0).padStart(8), r[2].toFixed(0).padStart(8), r[3].toFixed(0).padStart(8), r[0].slice(0, 130));
console.log('--- most negative'); for (const r of rows.slice(-10)) console.log(r[1].toFixed(0).padStart(8), r[2].toFixed(0).padStart(8), r[3].toFixed(0).padStart(8), r[0].slice(0, 130));
