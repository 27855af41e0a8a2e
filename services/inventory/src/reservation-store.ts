import type { FieldProblem, Pool } from '@self-healing-shop/service-kit';
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

interface OutcomeRow extends ReservationRow {
  outcome: 'reserved' | 'duplicate' | 'released' | 'already-released' | 'unknown';
}

/** An item `inventory.reserve` refused: unknown product (stock null) or not enough stock. */
interface RejectedItem {
  index: number;
  productId: string;
  quantity: number;
  stock: number | null;
}

/** SQLSTATE raised by `inventory.reserve` when it refuses items (migration 003); DETAIL lists them. */
const RESERVATION_REJECTED = 'IV409';

function rejection(orderId: string, error: unknown): Error | undefined {
  const { code, detail } = error as { code?: unknown; detail?: unknown };
  if (code !== RESERVATION_REJECTED || typeof detail !== 'string') return undefined;
  const rejected = JSON.parse(detail) as RejectedItem[];
  const unknown: FieldProblem[] = [];
  const short: FieldProblem[] = [];
  for (const { index, productId, quantity, stock } of rejected) {
    if (stock === null) {
      unknown.push({ path: `items.${index}.productId`, message: `unknown product ${productId}` });
    } else {
      short.push({
        path: `items.${index}.quantity`,
        message: `only ${stock} of ${productId} in stock, ${quantity} requested`,
      });
    }
  }
  return unknown.length > 0 ? new UnknownProductError(unknown) : new InsufficientStockError(orderId, short);
}

/**
 * Reservations take stock all or nothing in one statement, `inventory.reserve` (migration 003), one
 * round trip. It inserts the reservation row (primary key `order_id`) first: a concurrent request for
 * the same order, on any replica, waits on that key and then finds the committed reservation, so an
 * order never reserves twice. Then it locks the product rows in id order (no deadlocks), checks them
 * all and decrements them; a refusal raises, rolling back the reservation row with the rest.
 */
export class ReservationStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async get(orderId: string): Promise<Reservation | undefined> {
    const { rows } = await this.#pool.query<ReservationRow>({
      name: 'reservations-get',
      text: `SELECT ${COLUMNS} FROM inventory.reservations WHERE order_id = $1 AND status <> 'cancelled'`,
      values: [orderId],
    });
    return rows[0] ? toReservation(rows[0]) : undefined;
  }

  /** Throws UnknownProductError (404), InsufficientStockError, ReservationReleasedError or IdempotencyMismatchError (409). */
  async reserve(orderId: string, items: readonly ReservationItem[]): Promise<ReserveResult> {
    let row: OutcomeRow | undefined;
    try {
      ({
        rows: [row],
      } = await this.#pool.query<OutcomeRow>({
        name: 'reservations-reserve',
        text: `SELECT outcome, ${COLUMNS} FROM inventory.reserve($1, $2, $3, $4)`,
        values: [orderId, items.map((i) => i.productId), items.map((i) => i.quantity), JSON.stringify(items)],
      }));
    } catch (error) {
      throw rejection(orderId, error) ?? error;
    }
    if (!row?.order_id) throw new Error(`reservation ${orderId} conflicted on insert but cannot be read`);
    if (row.outcome === 'reserved') return { outcome: 'reserved', reservation: toReservation(row) };
    if (row.status !== 'reserved') throw new ReservationReleasedError(orderId, row.status === 'cancelled');
    if (!sameItems(row.items, items)) throw new IdempotencyMismatchError(orderId);
    return { outcome: 'duplicate', reservation: toReservation(row) };
  }

  /**
   * Gives the stock back once, in one statement (`inventory.release`). An order id never seen gets a
   * 'cancelled' tombstone (and the caller a 404): a reservation of that order still in flight then
   * fails instead of holding stock forever.
   */
  async release(orderId: string): Promise<ReleaseResult> {
    const {
      rows: [row],
    } = await this.#pool.query<OutcomeRow>({
      name: 'reservations-release',
      text: `SELECT outcome, ${COLUMNS} FROM inventory.release($1)`,
      values: [orderId],
    });
    if (!row || row.outcome === 'unknown') return { outcome: 'unknown' };
    return {
      outcome: row.outcome === 'released' ? 'released' : 'already-released',
      reservation: toReservation(row),
    };
  }
}
