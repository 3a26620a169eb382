/**
 * The order service's business logic, as in the guide: creating an order validates the user,
 * processes the payment and updates the inventory, each a child span. The "database", "cache" and
 * "payment gateway" are in-memory stand-ins with realistic latencies and a small share of failures,
 * so the demo runs anywhere with no other server. Shared by the Express and Koa services.
 */
import { traced } from '@vigil/tracing';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** A latency around `meanMs` (±50 %), with a rare slow outlier. */
const jitter = (meanMs: number): number => meanMs * (0.5 + Math.random()) * (Math.random() < 0.02 ? 4 : 1);

/** An error that carries an HTTP status (the handlers answer with it). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface User {
  id: number;
  name: string;
  email: string;
}

export interface OrderItem {
  sku: string;
  qty: number;
}

export interface Order {
  id: string;
  userId: number;
  items: OrderItem[];
  totalCents: number;
  status: 'created';
  createdAt: string;
}

/** An in-memory stand-in for the database: users, orders and stock, with query latency. */
export class Database {
  private readonly users = new Map<number, User>();
  private readonly orders = new Map<string, Order>();
  private readonly stock = new Map<string, number>();
  private nextOrder = 1000;
  /** When set, `ping()` fails (to watch the health check turn red). */
  down = false;

  constructor() {
    for (let id = 1; id <= 200; id++) this.users.set(id, { id, name: `User ${id}`, email: `user${id}@example.com` });
    for (const sku of ['book', 'lamp', 'mug', 'pen', 'desk']) this.stock.set(sku, 1_000_000);
  }

  async ping(): Promise<void> {
    await sleep(1 + Math.random() * 3);
    if (this.down) throw new Error('database connection refused');
  }

  async findUser(id: number): Promise<User | undefined> {
    await sleep(jitter(8));
    return this.users.get(id);
  }

  async findOrder(id: string): Promise<Order | undefined> {
    await sleep(jitter(6));
    return this.orders.get(id);
  }

  async insertOrder(order: Omit<Order, 'id'>): Promise<Order> {
    await sleep(jitter(10));
    const saved = { ...order, id: `ORD-${this.nextOrder++}` };
    this.orders.set(saved.id, saved);
    if (this.orders.size > 10_000) this.orders.delete(this.orders.keys().next().value as string);
    return saved;
  }

  async reserve(items: OrderItem[]): Promise<void> {
    await sleep(jitter(60));
    if (Math.random() < 0.01) throw new Error('inventory write conflict');
    for (const item of items) {
      const left = this.stock.get(item.sku);
      if (left === undefined) throw new HttpError(422, `unknown sku ${item.sku}`);
      this.stock.set(item.sku, left - item.qty);
    }
  }
}

/** An in-memory cache in front of user lookups. */
export class Cache {
  private readonly entries = new Map<string, { value: unknown; expires: number }>();

  async ping(): Promise<void> {
    await sleep(Math.random());
  }

  get<T>(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined || hit.expires < Date.now()) return undefined;
    return hit.value as T;
  }

  set(key: string, value: unknown, ttlMs: number): void {
    if (this.entries.size > 5000) this.entries.clear();
    this.entries.set(key, { value, expires: Date.now() + ttlMs });
  }
}

/**
 * A stand-in for the payment provider: ~100 ms, 2 % declines from the provider (502). During a
 * simulated incident (`degrade(seconds)`) it is slow and fails a third of the time.
 */
export class PaymentGateway {
  private degradedUntil = 0;

  degrade(seconds: number): void {
    this.degradedUntil = Date.now() + seconds * 1000;
  }

  get degraded(): boolean {
    return Date.now() < this.degradedUntil;
  }

  async charge(userId: number, cents: number): Promise<string> {
    const degraded = this.degraded;
    await sleep(jitter(degraded ? 450 : 100));
    if (Math.random() < (degraded ? 0.35 : 0.02)) throw new HttpError(502, `payment provider error for user ${userId}`);
    return `ch_${cents}_${Math.random().toString(36).slice(2, 10)}`;
  }
}

const PRICES: Record<string, number> = { book: 1500, lamp: 4200, mug: 900, pen: 250, desk: 19900 };

/** The guide's `create_order`: three child spans under the request span. */
export class OrderService {
  constructor(readonly db: Database, readonly cache: Cache, readonly payments: PaymentGateway) {}

  async getUser(id: number): Promise<User | undefined> {
    const key = `user:${id}`;
    const cached = this.cache.get<User>(key);
    if (cached !== undefined) return cached;
    const user = await traced('db.find_user', () => this.db.findUser(id));
    if (user !== undefined) this.cache.set(key, user, 30_000);
    return user;
  }

  async createOrder(userId: number, items: OrderItem[]): Promise<Order> {
    if (!Number.isInteger(userId) || !Array.isArray(items) || items.length === 0) throw new HttpError(400, 'userId and items are required');
    for (const item of items) {
      if (typeof item?.sku !== 'string' || !Number.isInteger(item.qty) || item.qty < 1) throw new HttpError(400, 'each item needs a sku and a positive qty');
    }
    await traced('validate_user', async (span) => {
      span.setAttribute('user.id', userId);
      await new Promise((r) => setTimeout(r, jitter(35)));
      if ((await this.getUser(userId)) === undefined) throw new HttpError(404, `user ${userId} not found`);
    });
    const totalCents = items.reduce((sum, item) => sum + (PRICES[item.sku] ?? 0) * item.qty, 0);
    await traced('process_payment', async (span) => {
      span.setAttribute('payment.amount_cents', totalCents);
      span.setAttribute('payment.degraded', this.payments.degraded);
      return this.payments.charge(userId, totalCents);
    });
    await traced('update_inventory', async (span) => {
      span.setAttribute('order.items', items.length);
      await this.db.reserve(items);
    });
    return this.db.insertOrder({ userId, items, totalCents, status: 'created', createdAt: new Date().toISOString() });
  }

  async getOrder(id: string): Promise<Order | undefined> {
    return traced('db.find_order', () => this.db.findOrder(id));
  }
}
