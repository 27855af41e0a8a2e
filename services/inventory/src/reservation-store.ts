import {
  withTransaction,
  type FieldProblem,
  type Pool,
  type PoolClient,
} from '@self-healing-shop/service-kit';
import {
  IdempotencyMismatchError,
  InsufficientStockError,
  ReservationReleasedError,
  UnknownProductError,
} from './errors.ts';
import type { ReservationItem } from './schemas.ts';

export type ReservationStatus = 'reserved' | 'released';

export interface Reservation {
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly items: readonly ReservationItem[];
  readonly createdAt: string;
  readonly releasedAt?: string;
}

interface ReservationRow {
  order_id: string;
  status: ReservationStatus | 'cancelled';
  items: ReservationItem[];
  created_at: Date;
  released_at: Date | null;
}

export type ReserveResult = { outcome: 'reserved' | 'duplicate'; reservation: Reservation };
export type ReleaseResult =
  { outcome: 'released' | 'already-released'; reservation: Reservation } | { outcome: 'unknown' };

const COLUMNS = 'order_id, status, items, created_at, released_at';

function toReservation(row: ReservationRow): Reservation {
  return {
    orderId: row.order_id,
    status: row.status === 'cancelled' ? 'released' : row.status,
    items: row.items,
    createdAt: row.created_at.toISOString(),
    ...(row.released_at ? { releasedAt: row.released_at.toISOString() } : {}),
  };
}

function sameItems(a: readonly ReservationItem[], b: readonly ReservationItem[]): boolean {
  const key = (items: readonly ReservationItem[]) =>
    JSON.stringify(
      [...items].sort((x, y) => (x.productId < y.productId ? -1 : 1)).map((i) => [i.productId, i.quantity]),
    );
  return a.length === b.length && key(a) === key(b);
}

/**
 * Locks the rows of `productIds` in id order: every transaction takes its locks in the same order,
 * so two reservations sharing products wait for each other instead of deadlocking.
 */
async function lockProducts(client: PoolClient, productIds: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ id: string; stock: number }>(
    'SELECT id, stock FROM inventory.products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
    [productIds],
  );
  return new Map(rows.map((r) => [r.id, r.stock]));
}

async function addStock(client: PoolClient, items: readonly ReservationItem[], sign: 1 | -1): Promise<void> {
  await client.query(
    `UPDATE inventory.products AS p SET stock = p.stock + $3 * v.quantity, updated_at = now()
       FROM unnest($1::text[], $2::int[]) AS v(id, quantity) WHERE p.id = v.id`,
    [items.map((i) => i.productId), items.map((i) => i.quantity), sign],
  );
}

/**
 * Reservations take stock all or nothing in one transaction. The reservation row (primary key
 * `order_id`) is inserted first: a concurrent request for the same order, on any replica, waits on
 * that key and then finds the committed reservation, so an order never reserves twice.
 */
export class ReservationStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async get(orderId: string): Promise<Reservation | undefined> {
    const { rows } = await this.#pool.query<ReservationRow>(
      `SELECT ${COLUMNS} FROM inventory.reservations WHERE order_id = $1 AND status <> 'cancelled'`,
      [orderId],
    );
    return rows[0] ? toReservation(rows[0]) : undefined;
  }

  /** Throws UnknownProductError (404), InsufficientStockError, ReservationReleasedError or IdempotencyMismatchError (409). */
  reserve(orderId: string, items: readonly ReservationItem[]): Promise<ReserveResult> {
    return withTransaction(this.#pool, async (client) => {
      const inserted = await client.query<ReservationRow>(
        `INSERT INTO inventory.reservations (order_id, status, items) VALUES ($1, 'reserved', $2::jsonb)
           ON CONFLICT (order_id) DO NOTHING RETURNING ${COLUMNS}`,
        [orderId, JSON.stringify(items)],
      );
      if (!inserted.rows[0])
        return { outcome: 'duplicate', reservation: await existing(client, orderId, items) };

      const stock = await lockProducts(
        client,
        items.map((i) => i.productId),
      );
      const unknown: FieldProblem[] = [];
      const short: FieldProblem[] = [];
      items.forEach((item, index) => {
        const available = stock.get(item.productId);
        if (available === undefined) {
          unknown.push({ path: `items.${index}.productId`, message: `unknown product ${item.productId}` });
        } else if (available < item.quantity) {
          short.push({
            path: `items.${index}.quantity`,
            message: `only ${available} of ${item.productId} in stock, ${item.quantity} requested`,
          });
        }
      });
      // Throwing rolls the transaction back: the reservation row and every stock change go.
      if (unknown.length > 0) throw new UnknownProductError(unknown);
      if (short.length > 0) throw new InsufficientStockError(orderId, short);
      await addStock(client, items, -1);
      return { outcome: 'reserved', reservation: toReservation(inserted.rows[0]) };
    });
  }

  /**
   * Gives the stock back once. An order id never seen gets a 'cancelled' tombstone (and the caller a
   * 404): a reservation of that order still in flight then fails instead of holding stock forever.
   */
  release(orderId: string): Promise<ReleaseResult> {
    return withTransaction(this.#pool, async (client) => {
      const tombstone = await client.query(
        `INSERT INTO inventory.reservations (order_id, status, items, released_at) VALUES ($1, 'cancelled', '[]', now())
           ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
        [orderId],
      );
      if (tombstone.rowCount === 1) return { outcome: 'unknown' };

      // Two concurrent releases: the second waits for the row lock, then sees 'released' and skips.
      const released = await client.query<ReservationRow>(
        `UPDATE inventory.reservations SET status = 'released', released_at = now()
           WHERE order_id = $1 AND status = 'reserved' RETURNING ${COLUMNS}`,
        [orderId],
      );
      const row = released.rows[0];
      if (row) {
        await lockProducts(
          client,
          row.items.map((i) => i.productId),
        );
        await addStock(client, row.items, 1);
        return { outcome: 'released', reservation: toReservation(row) };
      }
      const { rows } = await client.query<ReservationRow>(
        `SELECT ${COLUMNS} FROM inventory.reservations WHERE order_id = $1`,
        [orderId],
      );
      const current = rows[0];
      if (!current || current.status === 'cancelled') return { outcome: 'unknown' };
      return { outcome: 'already-released', reservation: toReservation(current) };
    });
  }
}

/** The reservation a repeated request refers to, or why it cannot be repeated. */
async function existing(
  client: PoolClient,
  orderId: string,
  items: readonly ReservationItem[],
): Promise<Reservation> {
  const { rows } = await client.query<ReservationRow>(
    `SELECT ${COLUMNS} FROM inventory.reservations WHERE order_id = $1`,
    [orderId],
  );
  const row = rows[0];
  if (!row) throw new Error(`reservation ${orderId} conflicted on insert but cannot be read`);
  if (row.status !== 'reserved') throw new ReservationReleasedError(orderId, row.status === 'cancelled');
  if (!sameItems(row.items, items)) throw new IdempotencyMismatchError(orderId);
  return toReservation(row);
}
