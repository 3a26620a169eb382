import { createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { LinkedContext, withContextValue } from '../src/linked-context';

describe('LinkedContext', () => {
  const a = createContextKey('a');
  const b = createContextKey('b');

  it('reads its own key and falls back to its parent, whatever kind of context the parent is', () => {
    const parent = ROOT_CONTEXT.setValue(a, 1);
    const ctx = withContextValue(parent, b, 2);
    expect(ctx).toBeInstanceOf(LinkedContext);
    expect(ctx.getValue(b)).toBe(2);
    expect(ctx.getValue(a)).toBe(1);
    expect(ctx.getValue(createContextKey('missing'))).toBeUndefined();
  });

  it('never changes a context: setValue and deleteValue return new ones', () => {
    const ctx = withContextValue(ROOT_CONTEXT, a, 1);
    const shadowed = ctx.setValue(a, 2);
    const deleted = shadowed.deleteValue(a);
    expect(ctx.getValue(a)).toBe(1);
    expect(shadowed.getValue(a)).toBe(2);
    expect(deleted.getValue(a)).toBeUndefined();
    expect(shadowed.getValue(a)).toBe(2);
  });

  it('works with the API helpers that set values through it (trace.setSpan)', () => {
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
    const ctx = trace.setSpan(withContextValue(ROOT_CONTEXT, a, 'exchange'), span);
    expect(trace.getSpan(ctx)).toBe(span);
    expect(ctx.getValue(a)).toBe('exchange');
    expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined();
  });
});
