import { isoTime, quote } from '../src/json-text';

describe('json-text', () => {
  it('quotes strings exactly as JSON.stringify does', () => {
    const samples = ['/users/:id', '', 'a"b', 'back\\slash', 'line\nbreak', '\u001b[31m', 'caf\u00e9\u2028', '\ud800lone', 'x'.repeat(300), '\t\r\u0000'];
    for (const s of samples) expect(quote(s)).toBe(JSON.stringify(s));
  });

  it('formats epoch milliseconds like Date.toISOString', () => {
    const base = Date.UTC(2026, 10, 25, 23, 59, 59, 0);
    for (const t of [base, base + 7, base + 42.9, base + 999, base + 1000, base + 1001, 0, Date.UTC(1999, 0, 1)]) {
      expect(isoTime(t)).toBe(new Date(Math.floor(t)).toISOString());
    }
  });
});
