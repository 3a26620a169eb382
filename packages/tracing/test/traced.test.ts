import ts from 'typescript';
import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { setupTracing, traced, Traced, injectTraceHeaders, type TracingHandle } from '@vigil/tracing';

describe('traced', () => {
  let tracing: TracingHandle;
  beforeAll(() => {
    tracing = setupTracing({ serviceName: 'jobs', exporter: 'memory', instrumentHttp: false, instrumentFetch: false });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => tracing.resetFinishedSpans());

  const span = (name: string) => tracing.finishedSpans().find((s) => s.name === name);

  it('wraps a sync function in a child span with attributes and returns its value', () => {
    const result = traced('outer', () => traced('validate user', () => 42, { attributes: { 'user.tier': 'gold' } }));
    expect(result).toBe(42);
    expect(span('validate user')?.attributes['user.tier']).toBe('gold');
    expect(span('validate user')?.parentSpanContext?.spanId).toBe(span('outer')?.spanContext().spanId);
  });

  it('ends an async span when its promise settles, keeping the context across awaits', async () => {
    const value = await traced('process payment', async (s) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      s.setAttribute('payment.cents', 1299);
      return trace.getSpan(context.active())?.spanContext().spanId;
    });
    const done = span('process payment');
    expect(done?.spanContext().spanId).toBe(value);
    expect(done?.attributes['payment.cents']).toBe(1299);
    expect(done?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records and rethrows sync and async errors', async () => {
    expect(() =>
      traced('sync fails', () => {
        throw new Error('bad input');
      }),
    ).toThrow('bad input');
    await expect(traced('async fails', async () => Promise.reject(new Error('card declined')))).rejects.toThrow('card declined');
    for (const [name, message] of [['sync fails', 'bad input'], ['async fails', 'card declined']]) {
      const s = span(name);
      expect(s?.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(s?.events[0].attributes?.['exception.message']).toBe(message);
    }
  });

  it('rejects misuse with a TypeError', () => {
    expect(() => traced('', () => 1)).toThrow(TypeError);
    expect(() => traced('x', 1 as never)).toThrow(TypeError);
  });
});

describe('Traced decorator', () => {
  let tracing: TracingHandle;
  beforeAll(() => {
    tracing = setupTracing({ serviceName: 'jobs', exporter: 'memory', instrumentHttp: false, instrumentFetch: false });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => tracing.resetFinishedSpans());

  class Inventory {
    private readonly stock = 3;

    @Traced('update inventory')
    async reserve(count: number): Promise<number> {
      await Promise.resolve();
      if (count > this.stock) throw new Error('out of stock');
      return this.stock - count;
    }

    @Traced()
    count(): number {
      return this.stock;
    }

    @Traced()
    static capacity(): number {
      return 10;
    }
  }

  class Warehouse extends Inventory {}

  it('wraps a method (standard decorators), keeping `this` and arguments', async () => {
    const inventory = new Inventory();
    await expect(inventory.reserve(2)).resolves.toBe(1);
    expect(inventory.count()).toBe(3);
    expect(tracing.finishedSpans().map((s) => s.name)).toEqual(['update inventory', 'Inventory.count']);
  });

  it('names spans `Class.method` after the declaring class (standard decorators)', () => {
    expect(Inventory.capacity()).toBe(10);
    expect(Warehouse.capacity()).toBe(10);
    expect(new Warehouse().count()).toBe(3);
    expect(new Inventory().count()).toBe(3);
    expect(tracing.finishedSpans().map((s) => s.name)).toEqual(['Inventory.capacity', 'Inventory.capacity', 'Inventory.count', 'Inventory.count']);
  });

  it('records the error of a failing method', async () => {
    await expect(new Inventory().reserve(9)).rejects.toThrow('out of stock');
    expect(tracing.finishedSpans()[0].status.code).toBe(SpanStatusCode.ERROR);
  });

  it('supports the experimentalDecorators form (target, key, descriptor)', () => {
    class Legacy {
      ship(id: string): string {
        return `shipped ${id}`;
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Legacy.prototype, 'ship')!;
    Object.defineProperty(Legacy.prototype, 'ship', Traced()(Legacy.prototype, 'ship', descriptor));
    expect(new Legacy().ship('o-1')).toBe('shipped o-1');
    expect(tracing.finishedSpans()[0].name).toBe('Legacy.ship');
  });

  it('names spans `Class.method` when compiled with experimentalDecorators', () => {
    const source = `
      declare const Traced: () => MethodDecorator;
      export class Courier {
        @Traced() ship(id: string) { return 'shipped ' + id; }
        @Traced() static fleet() { return 4; }
      }`;
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, experimentalDecorators: true },
    });
    expect(outputText).toContain('__decorate');
    const exports: { Courier?: { new (): { ship(id: string): string }; fleet(): number } } = {};
    new Function('exports', 'Traced', outputText)(exports, Traced);
    expect(new exports.Courier!().ship('o-2')).toBe('shipped o-2');
    expect(exports.Courier!.fleet()).toBe(4);
    expect(tracing.finishedSpans().map((s) => s.name)).toEqual(['Courier.ship', 'Courier.fleet']);
  });
});

describe('injectTraceHeaders', () => {
  let tracing: TracingHandle;
  beforeAll(() => {
    tracing = setupTracing({ serviceName: 'client', exporter: 'memory', instrumentHttp: false, instrumentFetch: false, propagators: ['tracecontext', 'baggage', 'b3multi'] });
  });
  afterAll(() => tracing.shutdown());

  it('writes the active context into a plain object or a Headers instance', () => {
    traced('call partner', (s) => {
      const { traceId, spanId } = s.spanContext();
      const plain = injectTraceHeaders({ accept: 'application/json' });
      expect(plain).toMatchObject({ accept: 'application/json', traceparent: `00-${traceId}-${spanId}-03`, 'x-b3-traceid': traceId, 'x-b3-spanid': spanId, 'x-b3-sampled': '1' });
      const headers = injectTraceHeaders(new Headers());
      expect(headers.get('traceparent')).toBe(`00-${traceId}-${spanId}-03`);
    });
  });

  it('writes nothing outside a span', () => {
    expect(injectTraceHeaders()).toEqual({});
  });
});
