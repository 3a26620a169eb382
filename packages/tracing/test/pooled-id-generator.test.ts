import { isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import { PooledIdGenerator } from '../src/pooled-id-generator';

describe('PooledIdGenerator', () => {
  it('makes valid, distinct W3C ids across many pool refills', () => {
    const ids = new PooledIdGenerator();
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const traceId = ids.generateTraceId();
      const spanId = ids.generateSpanId();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(isValidTraceId(traceId) && isValidSpanId(spanId)).toBe(true);
      traces.add(traceId);
      spans.add(spanId);
    }
    // 20,000 of each take 960,000 hex characters: more than a hundred 4 KB pools
    expect(traces.size).toBe(20_000);
    expect(spans.size).toBe(20_000);
  });

  it('uses every hex digit in every position (no fixed or biased characters)', () => {
    const ids = new PooledIdGenerator();
    const seen = Array.from({ length: 32 }, () => new Set<string>());
    for (let i = 0; i < 2_000; i++) {
      const id = ids.generateTraceId();
      for (let c = 0; c < 32; c++) seen[c].add(id[c]);
    }
    for (const digits of seen) expect(digits.size).toBe(16);
  });
});
