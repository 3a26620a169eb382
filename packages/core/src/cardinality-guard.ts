/**
 * Options of a `CardinalityGuard`.
 *
 * @example
 * ```ts
 * const options: CardinalityGuardOptions = { limit: 200, overflowValue: 'other' };
 * ```
 */
export interface CardinalityGuardOptions {
  /** Most distinct values admitted (default 500). */
  limit?: number;
  /** What every value past the limit becomes (default `other`). */
  overflowValue?: string;
}

/**
 * Caps the number of distinct values one label can take. The first `limit` distinct values pass
 * as they are; every later new value becomes `overflowValue` and is counted, so a flood of unique
 * URLs or user ids never grows a metric without bound. At most `limit + 1` values ever come out.
 *
 * @example
 * ```ts
 * const routes = new CardinalityGuard({ limit: 2 });
 * routes.admit('/a'); // '/a'
 * routes.admit('/b'); // '/b'
 * routes.admit('/c'); // 'other' (routes.overflowCount === 1)
 * routes.admit('/a'); // '/a'
 * ```
 */
export class CardinalityGuard {
  /** Most distinct values admitted. */
  readonly limit: number;
  /** The value that stands for every value past the limit. */
  readonly overflowValue: string;
  /** How many values were folded into `overflowValue`. */
  overflowCount = 0;
  private readonly seen = new Set<string>();

  constructor(options: CardinalityGuardOptions = {}) {
    const limit = options.limit ?? 500;
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`vigil: CardinalityGuard limit must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.overflowValue = options.overflowValue ?? 'other';
  }

  /** Returns `value` if it is known or there is room for it, otherwise `overflowValue`. */
  admit(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.limit) {
      this.seen.add(value);
      return value;
    }
    this.overflowCount++;
    return this.overflowValue;
  }

  /** Forgets a value (for example when its metric series was removed as idle). */
  release(value: string): void {
    this.seen.delete(value);
  }

  /** Number of distinct values admitted so far. */
  get size(): number {
    return this.seen.size;
  }
}
