import { withTransaction, type Pool } from '@self-healing-shop/service-kit';
import { IdempotencyMismatchError } from './errors.ts';
import type { ChannelName, CreateNotification, NotificationKind } from './schemas.ts';

export interface Notification {
  readonly id: string;
  readonly orderId: string;
  readonly kind: NotificationKind;
  readonly channel: ChannelName;
  readonly recipient: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly status: 'sent';
  readonly createdAt: string;
  readonly sentAt: string;
}

interface NotificationRow {
  id: string;
  seq: string;
  order_id: string;
  kind: NotificationKind;
  channel: ChannelName;
  recipient: string;
  payload: Record<string, unknown>;
  status: 'sent';
  created_at: Date;
  sent_at: Date | null;
}

export type CreateResult = { outcome: 'sent' | 'duplicate'; notification: Notification };

const COLUMNS = 'id, seq, order_id, kind, channel, recipient, payload, status, created_at, sent_at';

function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    orderId: row.order_id,
    kind: row.kind,
    channel: row.channel,
    recipient: row.recipient,
    payload: row.payload,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    sentAt: (row.sent_at ?? row.created_at).toISOString(),
  };
}

/**
 * Notifications, one per (order, kind). Recording and sending happen in one transaction: the row
 * exists only if the send succeeded, and a concurrent duplicate (on any replica) waits on the unique
 * key, then finds the committed row and sends nothing. Delivery is at least once: a send followed by
 * a failed commit is sent again on retry.
 */
export class NotificationStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Records the notification and calls `send` once for it; a repeat returns the existing record. */
  create(
    input: CreateNotification,
    send: (notification: Notification) => Promise<void>,
  ): Promise<CreateResult> {
    return withTransaction(this.#pool, async (client) => {
      // sent_at is taken as the row is handed to the channel: stamping it in the insert saves a statement
      // (an UPDATE after the send) per notification; a failed send rolls the row back with its stamp.
      const inserted = await client.query<NotificationRow>({
        name: 'notifications-insert',
        text: `INSERT INTO notification.notifications (order_id, kind, channel, recipient, payload, status, sent_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, 'sent', clock_timestamp())
           ON CONFLICT ON CONSTRAINT notifications_order_kind DO NOTHING RETURNING ${COLUMNS}`,
        values: [
          input.orderId,
          input.kind,
          input.channel,
          input.recipient,
          JSON.stringify(input.payload ?? {}),
        ],
      });
      const row = inserted.rows[0];
      if (!row) {
        const { rows } = await client.query<NotificationRow>({
          name: 'notifications-by-order-kind',
          text: `SELECT ${COLUMNS} FROM notification.notifications WHERE order_id = $1 AND kind = $2`,
          values: [input.orderId, input.kind],
        });
        const existing = rows[0];
        if (!existing)
          throw new Error(`notification ${input.orderId}/${input.kind} conflicted but cannot be read`);
        if (existing.channel !== input.channel || existing.recipient !== input.recipient) {
          throw new IdempotencyMismatchError(input.orderId, input.kind);
        }
        return { outcome: 'duplicate', notification: toNotification(existing) };
      }
      const notification = toNotification(row);
      // A failing send throws: the transaction rolls back and nothing is recorded.
      await send(notification);
      return { outcome: 'sent', notification };
    });
  }

  async get(id: string): Promise<Notification | undefined> {
    const { rows } = await this.#pool.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notification.notifications WHERE id = $1`,
      [id],
    );
    return rows[0] ? toNotification(rows[0]) : undefined;
  }

  async listByOrder(orderId: string): Promise<Notification[]> {
    const { rows } = await this.#pool.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notification.notifications WHERE order_id = $1 ORDER BY seq`,
      [orderId],
    );
    return rows.map(toNotification);
  }

  /** Newest first; `beforeSeq` continues after the last item of the previous page. */
  async list(options: {
    limit: number;
    beforeSeq?: string | undefined;
  }): Promise<{ items: Notification[]; lastSeq?: string; hasMore: boolean }> {
    const { rows } = await this.#pool.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notification.notifications
         WHERE $1::bigint IS NULL OR seq < $1::bigint ORDER BY seq DESC LIMIT $2`,
      [options.beforeSeq ?? null, options.limit + 1],
    );
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      items: page.map(toNotification),
      ...(last ? { lastSeq: String(last.seq) } : {}),
      hasMore: rows.length > options.limit,
    };
  }
}
