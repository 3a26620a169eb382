// node prof-top.js file.cpuprofile [N] : self time by function (and by url)
const p = JSON.parse(require('fs').readFileSync(process.argv[2]));
const N = Number(process.argv[3] ?? 40);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let total = 0;
for (let i = 0; i < p.samples.length; i++) { const n = byId.get(p.samples[i]); const d = dt[i] ?? 0; total += d; const f = n.callFrame; const key = `${f.functionName || '(anon)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\/packages\//, '@').replace(/^node:/, '')}:${f.lineNumber}`; self.set(key, (self.get(key) ?? 0) + d); }
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, N);
for (const [k, v] of rows) console.log((100 * v / total).toFixed(2).padStart(6), k);
