import type { Pool } from '@self-healing-shop/service-kit';
import type { StoredProblem } from './errors.ts';
import type { OutboxMessageInput } from './outbox/outbox-store.ts';

export type OrderStatus = 'pending' | 'confirmed' | 'rejected' | 'failed' | 'cancelled';
/** `none`: no confirmation to send (order not confirmed); `queued`: in the outbox; `sent`: delivered. */
export type NotificationStatus = 'none' | 'queued' | 'sent';

export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPriceCents?: number;
}

export interface OrderRecord {
  readonly id: string;
  readonly seq: number;
  readonly idempotencyKey: string | null;
  readonly requestHash: string;
  readonly status: OrderStatus;
  readonly customerEmail: string;
  readonly items: readonly OrderLine[];
  readonly totalCents: number | null;
  readonly problem: StoredProblem | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly notification: NotificationStatus;
}

export interface NewOrder {
  readonly id: string;
  readonly idempotencyKey: string | null;
  readonly requestHash: string;
  readonly customerEmail: string;
  readonly items: readonly OrderLine[];
  readonly now: Date;
}

export type InsertResult =
  | { readonly created: true; readonly order: OrderRecord }
  /** The Idempotency-Key belongs to an order placed before (absent if that one failed in between). */
  | { readonly created: false; readonly order: OrderRecord | undefined };

interface OrderRow {
  id: string;
  seq: string;
  idempotency_key: string | null;
  request_hash: string;
  status: OrderStatus;
  customer_email: string;
  items: OrderLine[];
  total_cents: string | null;
  problem: StoredProblem | null;
  created_at: Date;
  updated_at: Date;
  delivered_at?: Date | null;
  confirmation_id?: string | null;
}

const COLUMNS = `o.id, o.seq, o.idempotency_key, o.request_hash, o.status, o.customer_email, o.items, o.total_cents,
  o.problem, o.created_at, o.updated_at`;
const WITH_NOTIFICATION = `SELECT ${COLUMNS}, n.id AS confirmation_id, n.delivered_at FROM orders.orders o
  LEFT JOIN orders.outbox n ON n.order_id = o.id AND n.kind = 'order-confirmation'`;

// Arms (or re-arms) the release of an order's reservation: a message delivered before is due again.
const UPSERT_RELEASE = `ON CONFLICT (order_id, kind) DO UPDATE
  SET delivered_at = NULL, next_attempt_at = EXCLUDED.next_attempt_at, attempts = 0,
      version = ob.version + 1, last_error = NULL`;

function toRecord(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    seq: Number(row.seq),
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    status: row.status,
    customerEmail: row.customer_email,
    items: row.items,
    totalCents: row.total_cents === null ? null : Number(row.total_cents),
    problem: row.problem,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    notification: row.confirmation_id ? (row.delivered_at ? 'sent' : 'queued') : 'none',
  };
}

/**
 * Orders in PostgreSQL. Every state change is one statement (atomic without an explicit transaction):
 * a transition only happens from the state it expects, so concurrent replicas cannot both apply it,
 * and the outbox message that goes with it is written in the same statement.
 */
export class OrderStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Inserts a pending order; with a key used before, returns the order that holds it instead. */
  async insertPending(order: NewOrder): Promise<InsertResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.#pool.query<OrderRow>({
        name: 'orders-insert-pending',
        text: `INSERT INTO orders.orders AS o (id, idempotency_key, request_hash, status, customer_email, items, created_at, updated_at)
          VALUES ($1, $2, $3, 'pending', $4, $5, $6, $6)
          ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL AND status <> 'failed' DO NOTHING
          RETURNING ${COLUMNS}`,
        values: [
          order.id,
          order.idempotencyKey,
          order.requestHash,
          order.customerEmail,
          JSON.stringify(order.items),
          order.now,
        ],
      });
      if (rows[0]) return { created: true, order: toRecord(rows[0]) };
      if (order.idempotencyKey === null) throw new Error('insert without idempotency key returned no row');
      const existing = await this.findByIdempotencyKey(order.idempotencyKey);
      // The holder failed between the two statements: its key is free again, insert once more.
      if (existing) return { created: false, order: existing };
    }
    return { created: false, order: undefined };
  }

  async findById(id: string): Promise<OrderRecord | undefined> {
    const { rows } = await this.#pool.query<OrderRow>({
      name: 'orders-find-by-id',
      text: `${WITH_NOTIFICATION} WHERE o.id = $1`,
      values: [id],
    });
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async findByIdempotencyKey(key: string): Promise<OrderRecord | undefined> {
    const { rows } = await this.#pool.query<OrderRow>({
      name: 'orders-find-by-key',
      text: `${WITH_NOTIFICATION} WHERE o.idempotency_key = $1 AND o.status <> 'failed'`,
      values: [key],
    });
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Newest first; `beforeSeq` is the position after the last order of the previous page. */
  async list(limit: number, beforeSeq: number | undefined): Promise<OrderRecord[]> {
    const { rows } = await this.#pool.query<OrderRow>({
      name: 'orders-list',
      text: `${WITH_NOTIFICATION} WHERE $1::bigint IS NULL OR o.seq < $1 ORDER BY o.seq DESC LIMIT $2`,
      values: [beforeSeq ?? null, limit],
    });
    return rows.map(toRecord);
  }

  /**
   * pending → confirmed, writing the confirmation to the outbox in the same statement. Returns the
   * outbox id, or undefined when the order was no longer pending (another replica decided first).
   */
  async confirm(
    id: string,
    update: { readonly items: readonly OrderLine[]; readonly totalCents: number | null; readonly now: Date },
    message: OutboxMessageInput,
  ): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ id: string }>({
      name: 'orders-confirm',
      text: `WITH c AS (
          UPDATE orders.orders SET status = 'confirmed', items = $2, total_cents = $3, updated_at = $4
          WHERE id = $1 AND status = 'pending' RETURNING id)
        INSERT INTO orders.outbox AS ob (order_id, kind, payload, attempts, next_attempt_at, created_at, traceparent)
        SELECT id, 'order-confirmation', $5, $6, $7, $4, $8 FROM c
        RETURNING id`,
      values: [
        id,
        JSON.stringify(update.items),
        update.totalCents,
        update.now,
        JSON.stringify(message.payload),
        message.attempts,
        message.nextAttemptAt,
        message.traceparent ?? null,
      ],
    });
    return rows[0]?.id;
  }

  /**
   * After a successful reservation found the order not confirmable: unless it is confirmed (then the
   * reservation is the order's own), arm the release so that this late reservation is undone too.
   */
  async releaseUnlessConfirmed(id: string, now: Date): Promise<boolean> {
    const { rowCount } = await this.#pool.query({
      name: 'orders-release-unless-confirmed',
      text: `INSERT INTO orders.outbox AS ob (order_id, kind, payload, attempts, next_attempt_at, created_at)
        SELECT $1, 'release-reservation', '{}', 0, $2, $2
        WHERE NOT EXISTS (SELECT 1 FROM orders.orders WHERE id = $1 AND status = 'confirmed')
        ${UPSERT_RELEASE}`,
      values: [id, now],
    });
    return (rowCount ?? 0) > 0;
  }

  /** pending → rejected (nothing was reserved); the problem is kept for idempotent replays. */
  async reject(id: string, problem: StoredProblem, now: Date): Promise<boolean> {
    const { rowCount } = await this.#pool.query({
      name: 'orders-reject',
      text: `UPDATE orders.orders SET status = 'rejected', problem = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'`,
      values: [id, JSON.stringify(problem), now],
    });
    return (rowCount ?? 0) > 0;
  }

  /** Removes a pending order that named an unknown product: a bad request leaves no data behind. */
  async discard(id: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query({
      name: 'orders-discard',
      text: `DELETE FROM orders.orders WHERE id = $1 AND status = 'pending'`,
      values: [id],
    });
    return (rowCount ?? 0) > 0;
  }

  /**
   * pending → failed, arming in the same statement the release of whatever the reservation call may
   * have reserved (always: a release of nothing leaves a tombstone in inventory, never costs stock).
   */
  fail(id: string, problem: StoredProblem, now: Date): Promise<boolean> {
    return this.#moveAndRelease('orders-fail', id, { from: 'pending', to: 'failed', problem }, now);
  }

  /** confirmed → cancelled with the release of its stock in the outbox; false when not confirmed. */
  cancel(id: string, now: Date): Promise<boolean> {
    return this.#moveAndRelease('orders-cancel', id, { from: 'confirmed', to: 'cancelled' }, now);
  }

  /**
   * Moves an order from one status to the next (recording a problem when given) and, in the same
   * statement, puts the release of its stock in the outbox; false when the order was not in `from`.
   */
  async #moveAndRelease(
    name: string,
    id: string,
    move: { from: OrderStatus; to: OrderStatus; problem?: StoredProblem },
    now: Date,
  ): Promise<boolean> {
    const { rows } = await this.#pool.query<{ moved: number }>({
      name,
      text: `WITH m AS (
          UPDATE orders.orders SET status = $2, problem = COALESCE($4::jsonb, problem), updated_at = $5
          WHERE id = $1 AND status = $3 RETURNING id),
        r AS (
          INSERT INTO orders.outbox AS ob (order_id, kind, payload, attempts, next_attempt_at, created_at)
          SELECT id, 'release-reservation', '{}', 0, $5, $5 FROM m
          ${UPSERT_RELEASE})
        SELECT count(*)::int AS moved FROM m`,
      values: [id, move.to, move.from, move.problem ? JSON.stringify(move.problem) : null, now],
    });
    return (rows[0]?.moved ?? 0) > 0;
  }

  /**
   * Fails orders left pending since before `cutoff` (their replica died mid-way) and arms the release
   * of their reservations. SKIP LOCKED lets every replica sweep at once without waiting on each other.
   */
  async failStalePending(cutoff: Date, now: Date, problem: StoredProblem, limit: number): Promise<string[]> {
    const { rows } = await this.#pool.query<{ id: string }>({
      name: 'orders-fail-stale',
      text: `WITH stale AS (
          SELECT id FROM orders.orders WHERE status = 'pending' AND created_at < $1
          ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED),
        f AS (
          UPDATE orders.orders o SET status = 'failed', problem = $3, updated_at = $2
          FROM stale WHERE o.id = stale.id AND o.status = 'pending' RETURNING o.id),
        r AS (
          INSERT INTO orders.outbox AS ob (order_id, kind, payload, attempts, next_attempt_at, created_at)
          SELECT id, 'release-reservation', '{}', 0, $2, $2 FROM f
          ${UPSERT_RELEASE})
        SELECT id FROM f`,
      values: [cutoff, now, JSON.stringify(problem), limit],
    });
    return rows.map((r) => r.id);
  }
}
