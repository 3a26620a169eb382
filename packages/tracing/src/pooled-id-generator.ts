import { randomFillSync } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

const POOL_BYTES = 4096;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * Trace and span ids cut from a pool of cryptographically random bytes, hex-encoded 4 KB at a
 * time. The SDK's default generator writes four `Math.random()` words into a buffer and
 * hex-encodes it for every id (two calls into C++ per root span); here a root span's two ids are
 * two string slices, and the bytes come from the OS's CSPRNG, as the W3C random-trace-id flag
 * (which vigil claims by default) asks. An all-zero id, which W3C forbids, is skipped.
 *
 * @example
 * ```ts
 * new BasicTracerProvider({ idGenerator: new PooledIdGenerator() });
 * ```
 */
export class PooledIdGenerator implements IdGenerator {
  private readonly bytes = Buffer.allocUnsafe(POOL_BYTES);
  private pool = '';
  private offset = 0;

  generateTraceId(): string {
    const id = this.take(32);
    return id === ZERO_TRACE_ID ? this.generateTraceId() : id;
  }

  generateSpanId(): string {
    const id = this.take(16);
    return id === ZERO_SPAN_ID ? this.generateSpanId() : id;
  }

  private take(chars: number): string {
    if (this.offset + chars > this.pool.length) {
      randomFillSync(this.bytes);
      this.pool = this.bytes.toString('hex');
      this.offset = 0;
    }
    const id = this.pool.slice(this.offset, this.offset + chars);
    this.offset += chars;
    return id;
  }
}
