import type { Pool } from '@self-healing-shop/service-kit';

export type OutboxKind = 'order-confirmation' | 'release-reservation';

/** What the confirmation carries to notification (kept in the outbox row as JSON). */
export interface ConfirmationPayload {
  readonly recipient: string;
  readonly orderId: string;
  readonly items: ReadonlyArray<{
    readonly productId: string;
    readonly quantity: number;
    readonly unitPriceCents?: number;
  }>;
  readonly totalCents?: number;
  readonly placedAt: string;
}

export interface OutboxMessageInput {
  readonly payload: ConfirmationPayload;
  /** 1 when the caller delivers it at once itself (that counts as the first attempt), else 0. */
  readonly attempts: number;
  /** Not before this time will a dispatcher claim it: later than now while the caller delivers it. */
  readonly nextAttemptAt: Date;
  /** The W3C traceparent of the request writing it (null when that request is not traced). */
  readonly traceparent?: string | null;
}

export interface OutboxMessage {
  readonly id: string;
  readonly orderId: string;
  readonly kind: OutboxKind;
  readonly payload: Record<string, unknown>;
  /** Attempts so far, this one included. */
  readonly attempts: number;
  readonly version: number;
  /** The traceparent of the request that wrote the message: its delivery span links to that span. */
  readonly traceparent?: string | null;
}

export interface DeliveryFailure {
  readonly id: string;
  readonly version: number;
  /** Attempts to record: a call that never left (circuit open) gives its attempt back. */
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly error: string;
}

interface OutboxRow {
  id: string;
  order_id: string;
  kind: OutboxKind;
  payload: Record<string, unknown>;
  attempts: number;
  version: number;
  traceparent: string | null;
}

/**
 * The outbox: messages written in the same statement as the order change they announce, delivered
 * later. A dispatcher claims due rows by pushing their next attempt past a lease (SKIP LOCKED, so
 * replicas claim disjoint rows) and holds no lock or transaction while it delivers.
 */
export class OutboxStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async claimDue(
    now: Date,
    leaseUntil: Date,
    limit: number,
    kinds: readonly OutboxKind[],
  ): Promise<OutboxMessage[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    const { rows } = await this.#pool.query<OutboxRow>({
      name: 'outbox-claim',
      text: `UPDATE orders.outbox o SET attempts = o.attempts + 1, next_attempt_at = $2
        FROM (
          SELECT id FROM orders.outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND kind = ANY($4::text[])
          ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
        WHERE o.id = due.id
        RETURNING o.id, o.order_id, o.kind, o.payload, o.attempts, o.version, o.traceparent`,
      values: [now, leaseUntil, limit, kinds],
    });
    return rows.map((r) => ({
      id: r.id,
      orderId: r.order_id,
      kind: r.kind,
      payload: r.payload,
      attempts: r.attempts,
      version: r.version,
      traceparent: r.traceparent,
    }));
  }

  /** Marks messages delivered unless they were armed again since they were claimed. */
  async markDelivered(messages: ReadonlyArray<{ readonly id: string; readonly version: number }>, now: Date) {
    if (messages.length === 0) return;
    await this.#pool.query({
      name: 'outbox-delivered',
      text: `UPDATE orders.outbox o SET delivered_at = $3, last_error = NULL
        FROM unnest($1::bigint[], $2::int[]) AS v(id, version)
        WHERE o.id = v.id AND o.version = v.version AND o.delivered_at IS NULL`,
      values: [messages.map((m) => m.id), messages.map((m) => m.version), now],
    });
  }

  async reschedule(failures: readonly DeliveryFailure[]) {
    if (failures.length === 0) return;
    await this.#pool.query({
      name: 'outbox-reschedule',
      text: `UPDATE orders.outbox o SET next_attempt_at = v.at, last_error = v.error, attempts = v.attempts
        FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::text[], $5::int[]) AS v(id, version, at, error, attempts)
        WHERE o.id = v.id AND o.version = v.version AND o.delivered_at IS NULL`,
      values: [
        failures.map((f) => f.id),
        failures.map((f) => f.version),
        failures.map((f) => f.nextAttemptAt),
        failures.map((f) => f.error.slice(0, 500)),
        failures.map((f) => f.attempts),
      ],
    });
  }

  /** Messages not delivered yet (confirmations and releases). */
  async countPending(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders.outbox WHERE delivered_at IS NULL',
    );
    return rows[0]?.n ?? 0;
  }
}
