import type { Exchange } from '@vigil/core';

/** A destination that keeps every line written to it. */
export class Collector {
  readonly chunks: string[] = [];
  write(chunk: string): void {
    this.chunks.push(chunk);
  }
  /** All output as text. */
  text(): string {
    return this.chunks.join('');
  }
  /** Every line, parsed (throws if one is not exactly one JSON object). */
  records(): Record<string, any>[] {
    return this.text()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const parsed = JSON.parse(l);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`not a JSON object: ${l}`);
        return parsed as Record<string, any>;
      });
  }
  /** Access lines only (they carry `route` and `outcome`). */
  access(): Record<string, any>[] {
    return this.records().filter((r) => typeof r.route === 'string' && typeof r.outcome === 'string');
  }
}

/** Polls until `check()` is true (or throws after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type { Exchange };
