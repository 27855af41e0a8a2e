import type { AuditLine, AuditOrderStatus, AuditSnapshot, Violation } from './audit.ts';

/** The notification kind order sends once an order is confirmed (one per confirmed order). */
export const CONFIRMATION_KIND = 'order-confirmation';

/** Order statuses for which no stock may be held any more. */
const SETTLED_WITHOUT_STOCK: ReadonlySet<AuditOrderStatus> = new Set(['failed', 'rejected', 'cancelled']);

function unitsByProduct(lines: Iterable<AuditLine>): Map<string, number> {
  const units = new Map<string, number>();
  for (const line of lines) units.set(line.productId, (units.get(line.productId) ?? 0) + line.quantity);
  return units;
}

function stockViolations(snapshot: AuditSnapshot): Violation[] {
  const held = unitsByProduct(
    snapshot.reservations.filter((r) => r.status === 'reserved').flatMap((r) => r.items),
  );
  const products = new Map(snapshot.products.map((p) => [p.id, p]));
  const ids = [...new Set([...products.keys(), ...held.keys()])].sort();
  const violations: Violation[] = [];
  for (const id of ids) {
    const product = products.get(id);
    const stock = product?.stock ?? 0;
    const received = product?.receivedUnits ?? 0;
    const holding = held.get(id) ?? 0;
    if (received === stock + holding) continue;
    const missing = received - stock - holding;
    violations.push({
      kind: 'stock-not-conserved',
      subject: id,
      detail:
        `${product ? '' : 'unknown product: '}received ${received} units, but stock ${stock} + held ${holding} = ` +
        `${stock + holding} (${missing > 0 ? `${missing} units lost` : `${-missing} units created`})`,
    });
  }
  return violations;
}

function reservationViolations(snapshot: AuditSnapshot): Violation[] {
  const orders = new Map(snapshot.orders.map((o) => [o.id, o]));
  const violations: Violation[] = [];
  for (const reservation of snapshot.reservations) {
    if (reservation.status !== 'reserved') continue;
    const units = reservation.items.reduce((n, line) => n + line.quantity, 0);
    const order = orders.get(reservation.orderId);
    if (!order) {
      violations.push({
        kind: 'reservation-for-unknown-order',
        subject: reservation.orderId,
        detail: `${units} units held for an order id the order service never stored`,
      });
    } else if (SETTLED_WITHOUT_STOCK.has(order.status)) {
      violations.push({
        kind: 'reservation-for-settled-order',
        subject: order.id,
        detail: `${units} units still held for an order that is ${order.status}`,
      });
    }
  }
  return violations;
}

function confirmationViolations(snapshot: AuditSnapshot): Violation[] {
  const held = new Set(snapshot.reservations.filter((r) => r.status === 'reserved').map((r) => r.orderId));
  const confirmations = new Map<string, number>();
  for (const n of snapshot.notifications) {
    if (n.kind === CONFIRMATION_KIND) confirmations.set(n.orderId, (confirmations.get(n.orderId) ?? 0) + 1);
  }
  const violations: Violation[] = [];
  for (const order of snapshot.orders) {
    if (order.status !== 'confirmed') continue;
    if (!held.has(order.id)) {
      violations.push({
        kind: 'confirmed-order-without-reservation',
        subject: order.id,
        detail: 'the order is confirmed but inventory holds no reservation for it',
      });
    }
    const count = confirmations.get(order.id) ?? 0;
    if (count !== 1) {
      violations.push({
        kind: 'confirmation-count',
        subject: order.id,
        detail: `the confirmed order has ${count} ${CONFIRMATION_KIND} notifications, expected exactly 1`,
      });
    }
  }
  return violations;
}

function acknowledgedViolations(snapshot: AuditSnapshot): Violation[] {
  const stored = new Set(snapshot.orders.map((o) => o.id));
  return [...new Set(snapshot.acknowledged)]
    .filter((id) => !stored.has(id))
    .map((id) => ({
      kind: 'acknowledged-order-missing' as const,
      subject: id,
      detail: 'answered 201 during the experiment, but the order service cannot read it back',
    }));
}

/**
 * The data invariants of `audit.ts`, checked on a snapshot read while the platform was quiet.
 * Pure: the same snapshot always gives the same violations, grouped by kind (stock, reservations,
 * confirmations, acknowledged orders), each group in the order of the snapshot's lists.
 */
export function findViolations(snapshot: AuditSnapshot): Violation[] {
  return [
    ...stockViolations(snapshot),
    ...reservationViolations(snapshot),
    ...confirmationViolations(snapshot),
    ...acknowledgedViolations(snapshot),
  ];
}
