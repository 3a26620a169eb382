import { promDuration, toMs } from '../src/duration';
import { fingerprint } from '../src/labels';
import { expandTemplate } from '../src/template';

describe('expandTemplate (Prometheus annotation templates)', () => {
  it('expands $value, $labels.x and the humanize pipes', () => {
    const labels = { route: '/pay', instance: 'orders:3000' };
    expect(expandTemplate('{{ $labels.route }} errors at {{ $value | humanizePercentage }}', labels, 0.1234)).toBe('/pay errors at 12.34%');
    expect(expandTemplate('{{$value}}', labels, 0.5)).toBe('0.5');
    expect(expandTemplate('{{ $labels.instance }} is unreachable', labels, undefined)).toBe('orders:3000 is unreachable');
    expect(expandTemplate('{{ $labels.missing }}|', labels, 1)).toBe('|');
    expect(expandTemplate('{{ $value | humanize }}B', {}, 1_500_000_000)).toBe('1.5GB');
    expect(expandTemplate('{{ $value | humanize }}', {}, 0.0012)).toBe('1.2m');
    expect(expandTemplate('{{ $value | humanizeDuration }}', {}, 2.425)).toBe('2.425s');
    expect(expandTemplate('{{ $value | humanizeDuration }}', {}, 0.25)).toBe('250ms');
    expect(expandTemplate('{{ $value | humanizeDuration }}', {}, 5400)).toBe('1h 30m 0s');
    expect(expandTemplate('{{ $value | humanizeDuration }}', {}, 90.5)).toBe('1m 30s');
    expect(expandTemplate('{{ $value | humanizeDuration }}', {}, 172800)).toBe('2d 0h 0m 0s');
  });

  it('prints $value as Go does (Prometheus templates)', () => {
    const cases: Array<[number, string]> = [[0.1, '0.1'], [123456, '123456'], [1e6, '1e+06'], [1234567, '1.234567e+06'], [0.0001, '0.0001'], [0.00001, '1e-05'], [-2.5e-7, '-2.5e-07'], [Infinity, '+Inf'], [NaN, 'NaN'], [0, '0']];
    for (const [v, want] of cases) expect(expandTemplate('{{ $value }}', {}, v)).toBe(want);
  });

  it('leaves what it does not understand as written, and never throws', () => {
    expect(expandTemplate('{{ range .Alerts }}x{{ end }}', {}, 1)).toBe('{{ range .Alerts }}x{{ end }}');
    expect(expandTemplate('{{ $value | nope }}', {}, 1)).toBe('{{ $value | nope }}');
    expect(expandTemplate('{{ $labels.a | humanize }}', { a: 'text' }, 1)).toBe('{{ $labels.a | humanize }}');
    expect(expandTemplate('plain', {}, 1)).toBe('plain');
  });
});

describe('durations and fingerprints', () => {
  it('parses Prometheus durations and formats them back', () => {
    expect(toMs('1h30m', 'x')).toBe(5_400_000);
    expect(toMs('3d', 'x')).toBe(259_200_000);
    expect(toMs('500ms', 'x')).toBe(500);
    expect(toMs(undefined, 'x', 7)).toBe(7);
    expect(() => toMs('5 minutes', 'for')).toThrow(TypeError);
    expect(() => toMs(-1, 'for')).toThrow(/non-negative/);
    expect(promDuration(5_400_000)).toBe('1h30m');
    expect(promDuration(259_200_000)).toBe('3d');
    expect(promDuration(0)).toBe('0s');
  });

  it('fingerprints a label set independent of key order', () => {
    const a = fingerprint({ alertname: 'A', severity: 'critical' });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint({ severity: 'critical', alertname: 'A' })).toBe(a);
    expect(fingerprint({ alertname: 'A', severity: 'warning' })).not.toBe(a);
    expect(fingerprint({ a: 'b\xffc' })).not.toBe(fingerprint({ 'a\xffb': 'c' }));
  });
});
