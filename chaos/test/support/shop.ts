/**
 * TEST DOUBLE of the shop's data behind the three services, kept in memory: what the order endpoint
 * (order-endpoint.ts) stores when it answers `POST /orders`, and what the pods' audit API
 * (kube/pod-network.ts) reads back, shaped as packages/contracts/src/audit.ts says. It does what the
 * services do when nothing goes wrong, so the chaos engine's invariants hold on it:
 * - an order reserves its lines (stock goes down by what the reservation holds) and is confirmed at
 *   once; one it cannot reserve (unknown product, too little stock) is stored `rejected` and holds
 *   nothing (409);
 * - the confirmation goes through order's outbox: `/admin/audit/summary` counts it as `outboxPending`
 *   until notification records it, `outboxDelayMs` later;
 * - audit lists are pages in key order (orders and notifications by insertion, products and
 *   reservations by id) of at most `pageSize` items, with an opaque `nextCursor`; a bad `limit` or a
 *   cursor this shop did not issue is a 400.
 * `failWithoutRelease` plants the one inconsistency tests need: a failed order still holding stock.
 */
import {
  CONFIRMATION_KIND,
  type AuditLine,
  type AuditNotification,
  type AuditOrder,
  type AuditOrderStatus,
  type AuditOrderSummary,
  type AuditPage,
  type AuditProduct,
  type AuditReservation,
} from '@self-healing-shop/contracts';
import { z } from 'zod';

export interface ShopOptions {
  /** Product ids and the units each received at the start; default p-001..p-010, 10 000 units each. */
  stock?: Readonly<Record<string, number>>;
  /** The most items one audit page holds, whatever `limit` asks; default 1000 (the contract's maximum). */
  pageSize?: number;
  /** How long a confirmation waits in order's outbox before notification records it; default 10 ms. */
  outboxDelayMs?: number;
  /** What `/admin/audit/summary` reports as order's pending timeout; default 30 s. */
  pendingTimeoutMs?: number;
}

/** A status and a JSON body (a problem for an error), for the HTTP servers of the double to send. */
export interface ShopAnswer {
  status: number;
  body: unknown;
}

const LIMIT_MAX = 1000;

const orderBody = z.object({
  customer: z.object({ email: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'expected an email address') }),
  items: z.array(z.object({ productId: z.string().min(1), quantity: z.number().int().min(1) })).min(1),
});

const problem = (status: number, title: string, detail: string): ShopAnswer => ({
  status,
  body: { type: 'about:blank', title, status, detail },
});

/** The cursor of the item with `key`: opaque to the reader. */
const cursorOf = (key: string): string => Buffer.from(`after:${key}`).toString('base64url');

/** Sequence keys sort as strings in insertion order. */
const sequenceKey = (n: number): string => String(n).padStart(12, '0');

interface Product {
  id: string;
  stock: number;
  receivedUnits: number;
}

interface Order {
  seq: string;
  view: AuditOrder;
}

export class Shop {
  readonly #pageSize: number;
  readonly #outboxDelayMs: number;
  readonly #pendingTimeoutMs: number;
  readonly #products = new Map<string, Product>();
  /** In insertion order (a Map keeps it). */
  readonly #orders = new Map<string, Order>();
  readonly #reservations = new Map<string, AuditReservation>();
  readonly #notifications: Array<{ seq: string; view: AuditNotification }> = [];
  readonly #outbox = new Set<NodeJS.Timeout>();
  #orderSequence = 0;
  #notificationSequence = 0;

  constructor(options: ShopOptions = {}) {
    this.#pageSize = options.pageSize ?? LIMIT_MAX;
    this.#outboxDelayMs = options.outboxDelayMs ?? 10;
    this.#pendingTimeoutMs = options.pendingTimeoutMs ?? 30_000;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > LIMIT_MAX)
      throw new RangeError(`pageSize must be a whole number from 1 to ${LIMIT_MAX}, got ${this.#pageSize}`);
    const stock =
      options.stock ??
      Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [`p-${String(i + 1).padStart(3, '0')}`, 10_000]),
      );
    for (const [id, units] of Object.entries(stock)) {
      if (!Number.isInteger(units) || units < 0)
        throw new RangeError(`stock of ${id} must be a whole number of units, got ${units}`);
      this.#products.set(id, { id, stock: units, receivedUnits: units });
    }
  }

  /** Drops the confirmations still in the outbox (their timers). */
  close(): void {
    for (const timer of this.#outbox) clearTimeout(timer);
    this.#outbox.clear();
  }

  /** How many orders are stored, whatever their status. */
  get orderCount(): number {
    return this.#orders.size;
  }

  /** `GET /products` of inventory: `{ items: [{ id, name, priceCents, stock }] }`. */
  products(): ShopAnswer {
    const items = [...this.#products.values()].map((p) => ({
      id: p.id,
      name: `Product ${p.id}`,
      priceCents: 1000,
      stock: p.stock,
    }));
    return { status: 200, body: { items } };
  }

  /** `POST /orders`: 201 with the confirmed order, 409 (stored `rejected`) when it cannot be reserved. */
  placeOrder(body: unknown): ShopAnswer {
    const parsed = orderBody.safeParse(body);
    if (!parsed.success) return problem(400, 'Bad Request', z.prettifyError(parsed.error));
    const { customer, items } = parsed.data;
    const id = `o-${++this.#orderSequence}`;
    const at = new Date().toISOString();
    const shortage = this.#shortage(items);
    const status: AuditOrderStatus = shortage ? 'rejected' : 'confirmed';
    this.#orders.set(id, {
      seq: sequenceKey(this.#orderSequence),
      view: { id, status, items, createdAt: at, updatedAt: at },
    });
    if (shortage) return problem(409, 'Conflict', shortage);
    for (const line of items) this.#products.get(line.productId)!.stock -= line.quantity;
    this.#reservations.set(id, { orderId: id, status: 'reserved', items });
    this.#queueConfirmation(id);
    return {
      status: 201,
      body: { id, status, items, customer, createdAt: at, notification: { status: 'queued' } },
    };
  }

  /** `GET /orders/:id`: the stored order, 404 when there is none. */
  getOrder(id: string): ShopAnswer {
    const order = this.#orders.get(id);
    return order ? { status: 200, body: order.view } : problem(404, 'Not Found', `no order ${id}`);
  }

  /**
   * Fails a confirmed order the way a faulty sweeper would: the order turns `failed` but its
   * reservation keeps holding the stock (the invariant `reservation-for-settled-order` is broken).
   */
  failWithoutRelease(orderId: string): void {
    const order = this.#orders.get(orderId);
    if (!order) throw new Error(`no order ${orderId} in the shop`);
    if (this.#reservations.get(orderId)?.status !== 'reserved')
      throw new Error(`order ${orderId} holds no reservation`);
    order.view = { ...order.view, status: 'failed', updatedAt: new Date().toISOString() };
  }

  /** `GET /admin/audit/...` of `service` (path with its query): the page, the summary, or a 404/400. */
  audit(service: string, pathWithQuery: string): ShopAnswer {
    const url = new URL(pathWithQuery, 'http://pod');
    const route = `${service} ${url.pathname}`;
    if (route === 'order /admin/audit/summary') return { status: 200, body: this.#summary() };
    const lists: Record<string, () => Array<[string, unknown]>> = {
      'order /admin/audit/orders': () => [...this.#orders.values()].map((o) => [o.seq, o.view]),
      'inventory /admin/audit/products': () =>
        [...this.#products.values()].map((p): [string, AuditProduct] => [p.id, { ...p }]),
      'inventory /admin/audit/reservations': () => [...this.#reservations].map(([key, r]) => [key, r]),
      'notification /admin/audit/notifications': () => this.#notifications.map((n) => [n.seq, n.view]),
    };
    const list = lists[route];
    if (!list) return problem(404, 'Not Found', `${service} has no audit list ${url.pathname}`);
    return this.#page(list(), url.searchParams);
  }

  #summary(): AuditOrderSummary {
    const pending = [...this.#orders.values()].filter((o) => o.view.status === 'pending').length;
    return { pending, outboxPending: this.#outbox.size, pendingTimeoutMs: this.#pendingTimeoutMs };
  }

  /** Why the lines cannot be reserved (unknown product, too little stock), or undefined when they can. */
  #shortage(items: readonly AuditLine[]): string | undefined {
    const wanted = new Map<string, number>();
    for (const line of items) wanted.set(line.productId, (wanted.get(line.productId) ?? 0) + line.quantity);
    for (const [productId, units] of wanted) {
      const product = this.#products.get(productId);
      if (!product) return `unknown product ${productId}`;
      if (product.stock < units) return `${productId} has ${product.stock} units in stock, ${units} ordered`;
    }
    return undefined;
  }

  #queueConfirmation(orderId: string): void {
    const timer = setTimeout(() => {
      this.#outbox.delete(timer);
      const seq = ++this.#notificationSequence;
      this.#notifications.push({
        seq: sequenceKey(seq),
        view: { id: `n-${seq}`, orderId, kind: CONFIRMATION_KIND },
      });
    }, this.#outboxDelayMs);
    this.#outbox.add(timer);
  }

  /** One page of `entries` ([key, item]) in key order, after the `after` cursor, `limit` items at most. */
  #page(entries: Array<[string, unknown]>, query: URLSearchParams): ShopAnswer {
    const limitParam = query.get('limit');
    const limit = limitParam === null ? LIMIT_MAX : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMIT_MAX)
      return problem(
        400,
        'Bad Request',
        `limit: expected a whole number from 1 to ${LIMIT_MAX}, got ${limitParam}`,
      );
    const sorted = entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const cursor = query.get('after');
    let start = 0;
    if (cursor !== null) {
      const key = sorted.find(([k]) => cursorOf(k) === cursor)?.[0];
      if (key === undefined) return problem(400, 'Bad Request', 'after: expected a nextCursor of this list');
      start = sorted.findIndex(([k]) => k > key);
      if (start < 0) start = sorted.length;
    }
    const kept = sorted.slice(start, start + Math.min(limit, this.#pageSize));
    const last = kept.at(-1);
    const page: AuditPage<unknown> = {
      items: kept.map(([, item]) => item),
      ...(start + kept.length < sorted.length && last ? { nextCursor: cursorOf(last[0]) } : {}),
    };
    return { status: 200, body: page };
  }
}
