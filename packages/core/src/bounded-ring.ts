/**
 * A fixed-size ring of recent items: pushing past the capacity drops the oldest and counts it.
 *
 * @example
 * ```ts
 * const ring = new BoundedRing<string>(2);
 * ring.push('a'); ring.push('b'); ring.push('c');
 * ring.toArray(); // ['b', 'c']
 * ring.dropped;   // 1
 * ```
 */
export class BoundedRing<T> {
  readonly capacity: number;
  /** Items pushed out by newer ones. */
  dropped = 0;
  private readonly items: (T | undefined)[];
  private next = 0;
  private size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`vigil: BoundedRing capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    if (this.size === this.capacity) this.dropped++;
    else this.size++;
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Items oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out.push(this.items[(start + i) % this.capacity] as T);
    return out;
  }

  get length(): number {
    return this.size;
  }

  clear(): void {
    this.items.fill(undefined);
    this.next = 0;
    this.size = 0;
  }
}
