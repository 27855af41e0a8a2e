/**
 * The audit API: read-only views of each service's data, behind the admin token
 * (`ADMIN_TOKEN_HEADER`), from which the chaos stage checks its invariants after every experiment.
 * Lists are pages `{ items, nextCursor? }`: pass `?after=<nextCursor>&limit=<n>` (limit ≤ 1000) for
 * the next page; no `nextCursor` means the last page.
 *
 * The invariants (checked on a quiet platform, see `findViolations`):
 * - stock is conserved: for each product, `receivedUnits = stock + Σ quantity of its held reservations`;
 * - a reservation is held only for an order that is `confirmed` or still `pending`; never for one
 *   that is `failed`, `rejected` or `cancelled`, nor for an order id the order service never stored;
 * - every confirmed order holds its reservation, and has exactly one confirmation;
 * - every order acknowledged with 201 during the experiment can be read back.
 */

export interface AuditPage<T> {
  readonly items: readonly T[];
  readonly nextCursor?: string;
}

export interface AuditLine {
  readonly productId: string;
  readonly quantity: number;
}

export type AuditOrderStatus = 'pending' | 'confirmed' | 'rejected' | 'failed' | 'cancelled';

/** order: `GET /admin/audit/orders` */
export interface AuditOrder {
  readonly id: string;
  readonly status: AuditOrderStatus;
  readonly items: readonly AuditLine[];
  /** ISO 8601. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** order: `GET /admin/audit/summary` — whether the order service has settled. */
export interface AuditOrderSummary {
  readonly pending: number;
  /** Outbox rows not yet delivered (confirmations and stock releases). */
  readonly outboxPending: number;
  /** A pending order older than this (ms) is failed and released by the sweeper. */
  readonly pendingTimeoutMs: number;
}

/** inventory: `GET /admin/audit/products` */
export interface AuditProduct {
  readonly id: string;
  readonly stock: number;
  /** Every unit the product ever received (the seed and restocks): what conservation compares with. */
  readonly receivedUnits: number;
}

/** `reserved` holds stock; `released` gave it back; `cancelled` is a tombstone that never held any. */
export type AuditReservationStatus = 'reserved' | 'released' | 'cancelled';

/** inventory: `GET /admin/audit/reservations` */
export interface AuditReservation {
  readonly orderId: string;
  readonly status: AuditReservationStatus;
  readonly items: readonly AuditLine[];
}

/** notification: `GET /admin/audit/notifications` */
export interface AuditNotification {
  readonly id: string;
  readonly orderId: string;
  readonly kind: string;
}

/** Everything the checker read, after the platform went quiet. */
export interface AuditSnapshot {
  readonly orders: readonly AuditOrder[];
  readonly products: readonly AuditProduct[];
  readonly reservations: readonly AuditReservation[];
  readonly notifications: readonly AuditNotification[];
  /** Ids of the orders answered 201 during the experiment (from the load generator). */
  readonly acknowledged: readonly string[];
}

export type ViolationKind =
  | 'stock-not-conserved'
  | 'reservation-for-settled-order'
  | 'reservation-for-unknown-order'
  | 'confirmed-order-without-reservation'
  | 'confirmation-count'
  | 'acknowledged-order-missing';

export interface Violation {
  readonly kind: ViolationKind;
  /** The product or order it is about. */
  readonly subject: string;
  /** What was found, in one line a person can act on. */
  readonly detail: string;
}
