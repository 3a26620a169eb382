// node cg-self.js file.callgrind perf.map [N]: self instructions by function (JIT names from the perf map)
const fs = require('fs');
const [file, mapFile, N] = process.argv.slice(2);
const ranges = fs.readFileSync(mapFile, 'utf8').split('\n').filter(Boolean).map((l) => { const [a, s, ...n] = l.split(' '); return [parseInt(a, 16), parseInt(s, 16), n.join(' ')]; }).sort((x, y) => x[0] - y[0]);
function sym(addr) { let lo = 0, hi = ranges.length - 1, best = -1; while (lo <= hi) { const m = (lo + hi) >> 1; if (ranges[m][0] <= addr) { best = m; lo = m + 1; } else hi = m - 1; } if (best >= 0 && addr < ranges[best][0] + ranges[best][1]) return ranges[best][2]; return null; }
const names = new Map(); const self = new Map(); let fn = null; let skip = false; let totalsLine = 0;
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  let m;
  if ((m = /^fn=\((\d+)\)(?: (.*))?$/.exec(line))) { if (m[2] !== undefined) names.set(m[1], m[2]); fn = names.get(m[1]); continue; }
  if (/^c?fn=|^cfi=|^cfl=|^fi=|^fe=|^fl=|^ob=|^cob=/.test(line)) { if ((m = /^c(?:fn)=\((\d+)\) (.*)$/.exec(line))) names.set(m[1], m[2]); continue; }
  if (line.startsWith('calls=')) { skip = true; continue; }
  if (/^[+\-*0-9]/.test(line)) { if (skip) { skip = false; continue; } const parts = line.trim().split(/\s+/); const ir = Number(parts[1] ?? 0); if (fn) self.set(fn, (self.get(fn) ?? 0) + ir); }
}
const agg = new Map();
for (const [name, ir] of self) { let n = name; const mm = /^0x0*([0-9a-f]+)$/.exec(name); if (mm) n = sym(parseInt(mm[1], 16)) ?? '(jit?)'; agg.set(n, (agg.get(n) ?? 0) + ir); }
const total = [...agg.values()].reduce((a, b) => a + b, 0);
console.log('total', total);
for (const [n, ir] of [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(N ?? 40))) console.log(String(ir).padStart(12), (100 * ir / total).toFixed(2).padStart(6), n.slice(0, 140));
