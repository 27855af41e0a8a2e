import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type {
  AuditNotification,
  AuditOrder,
  AuditOrderStatus,
  AuditProduct,
  AuditReservation,
  AuditSnapshot,
} from '../src/audit.ts';
import { findViolations } from '../src/invariants.ts';

/**
 * A history the platform may legitimately leave behind: each order's reservation and confirmation
 * follow from its status, stock is what was received minus what is held.
 */
interface PlannedOrder {
  status: AuditOrderStatus;
  lines: Array<{ product: number; quantity: number }>;
  /** pending only: whether inventory has reserved yet. */
  reserved: boolean;
  /** failed/rejected/cancelled: released stock, a tombstone, or never reached inventory. */
  trace: 'released' | 'cancelled' | 'none';
  acknowledged: boolean;
}

const plannedOrder = fc.record({
  status: fc.constantFrom<AuditOrderStatus>('pending', 'confirmed', 'rejected', 'failed', 'cancelled'),
  lines: fc.array(fc.record({ product: fc.nat(3), quantity: fc.integer({ min: 1, max: 5 }) }), {
    minLength: 1,
    maxLength: 3,
  }),
  reserved: fc.boolean(),
  trace: fc.constantFrom<PlannedOrder['trace']>('released', 'cancelled', 'none'),
  acknowledged: fc.boolean(),
});

const at = '2026-12-01T10:00:00.000Z';
const productId = (i: number): string => `p-${i}`;

function snapshotOf(received: readonly number[], planned: readonly PlannedOrder[]): AuditSnapshot {
  const orders: AuditOrder[] = [];
  const reservations: AuditReservation[] = [];
  const notifications: AuditNotification[] = [];
  const held = received.map(() => 0);
  planned.forEach((p, i) => {
    const id = `o-${i}`;
    const items = p.lines.map((l) => ({ productId: productId(l.product), quantity: l.quantity }));
    orders.push({ id, status: p.status, items, createdAt: at, updatedAt: at });
    const holds = p.status === 'confirmed' || (p.status === 'pending' && p.reserved);
    if (holds) {
      reservations.push({ orderId: id, status: 'reserved', items });
      for (const l of p.lines) held[l.product] += l.quantity;
    } else if (p.status !== 'pending' && p.trace !== 'none') {
      reservations.push({ orderId: id, status: p.trace, items });
    }
    if (p.status === 'confirmed') {
      notifications.push({ id: `n-${i}`, orderId: id, kind: 'order-confirmation' });
    }
  });
  const products: AuditProduct[] = received.map((units, i) => ({
    id: productId(i),
    // Enough received that every holding fits: the seed plus what the orders hold.
    receivedUnits: units + held[i],
    stock: units,
  }));
  const acknowledged = planned.flatMap((p, i) => (p.acknowledged ? [`o-${i}`] : []));
  return { orders, products, reservations, notifications, acknowledged };
}

const history = fc
  .tuple(fc.array(fc.nat(1000), { minLength: 4, maxLength: 4 }), fc.array(plannedOrder, { maxLength: 30 }))
  .map(([received, planned]) => snapshotOf(received, planned));

describe('findViolations', () => {
  it('finds nothing in any history the platform may legitimately leave behind', () => {
    fc.assert(fc.property(history, (snapshot) => findViolations(snapshot).length === 0));
  });

  it('catches stock that is neither in stock nor held (units lost) and units created from nothing', () => {
    const snapshot: AuditSnapshot = {
      orders: [{ id: 'o-1', status: 'confirmed', items: [], createdAt: at, updatedAt: at }],
      products: [
        { id: 'p-1', receivedUnits: 100, stock: 90 },
        { id: 'p-2', receivedUnits: 10, stock: 12 },
      ],
      reservations: [{ orderId: 'o-1', status: 'reserved', items: [{ productId: 'p-1', quantity: 7 }] }],
      notifications: [{ id: 'n-1', orderId: 'o-1', kind: 'order-confirmation' }],
      acknowledged: [],
    };
    expect(findViolations(snapshot)).toEqual([
      {
        kind: 'stock-not-conserved',
        subject: 'p-1',
        detail: 'received 100 units, but stock 90 + held 7 = 97 (3 units lost)',
      },
      {
        kind: 'stock-not-conserved',
        subject: 'p-2',
        detail: 'received 10 units, but stock 12 + held 0 = 12 (2 units created)',
      },
    ]);
  });

  it.each(['failed', 'rejected', 'cancelled'] as const)(
    'catches a reservation still held for a %s order (the leak of issue 9)',
    (status) => {
      fc.assert(
        fc.property(history, (clean) => {
          const planted: AuditSnapshot = {
            ...clean,
            orders: [...clean.orders, { id: 'leak', status, items: [], createdAt: at, updatedAt: at }],
            reservations: [
              ...clean.reservations,
              { orderId: 'leak', status: 'reserved', items: [{ productId: 'p-0', quantity: 2 }] },
            ],
            // Stock conserved on purpose: only the held-for-settled rule can catch it.
            products: clean.products.map((p) => (p.id === 'p-0' ? { ...p, stock: p.stock - 2 } : p)),
          };
          const found = findViolations(planted);
          expect(found).toEqual([
            {
              kind: 'reservation-for-settled-order',
              subject: 'leak',
              detail: `2 units still held for an order that is ${status}`,
            },
          ]);
        }),
        { numRuns: 30 },
      );
    },
  );

  it('catches a reservation held for an order id the order service never stored', () => {
    const found = findViolations({
      orders: [],
      products: [{ id: 'p-1', receivedUnits: 5, stock: 4 }],
      reservations: [{ orderId: 'ghost', status: 'reserved', items: [{ productId: 'p-1', quantity: 1 }] }],
      notifications: [],
      acknowledged: [],
    });
    expect(found.map((v) => [v.kind, v.subject])).toEqual([['reservation-for-unknown-order', 'ghost']]);
  });

  it('catches a confirmed order whose reservation was released, with its stock back', () => {
    const found = findViolations({
      orders: [{ id: 'o-1', status: 'confirmed', items: [], createdAt: at, updatedAt: at }],
      products: [{ id: 'p-1', receivedUnits: 5, stock: 5 }],
      reservations: [{ orderId: 'o-1', status: 'released', items: [{ productId: 'p-1', quantity: 1 }] }],
      notifications: [{ id: 'n-1', orderId: 'o-1', kind: 'order-confirmation' }],
      acknowledged: ['o-1'],
    });
    expect(found.map((v) => [v.kind, v.subject])).toEqual([['confirmed-order-without-reservation', 'o-1']]);
  });

  it('catches a confirmed order with no confirmation and one with two', () => {
    const confirmed = (id: string): AuditOrder => ({
      id,
      status: 'confirmed',
      items: [],
      createdAt: at,
      updatedAt: at,
    });
    const found = findViolations({
      orders: [confirmed('none'), confirmed('twice'), confirmed('once')],
      products: [],
      reservations: ['none', 'twice', 'once'].map((orderId) => ({
        orderId,
        status: 'reserved' as const,
        items: [],
      })),
      notifications: [
        { id: 'n-1', orderId: 'twice', kind: 'order-confirmation' },
        { id: 'n-2', orderId: 'twice', kind: 'order-confirmation' },
        { id: 'n-3', orderId: 'once', kind: 'order-confirmation' },
        // Another kind of notification is not a confirmation.
        { id: 'n-4', orderId: 'none', kind: 'order-shipped' },
      ],
      acknowledged: [],
    });
    expect(found).toEqual([
      {
        kind: 'confirmation-count',
        subject: 'none',
        detail: 'the confirmed order has 0 order-confirmation notifications, expected exactly 1',
      },
      {
        kind: 'confirmation-count',
        subject: 'twice',
        detail: 'the confirmed order has 2 order-confirmation notifications, expected exactly 1',
      },
    ]);
  });

  it('catches an acknowledged order that cannot be read back, once however often it was acknowledged', () => {
    fc.assert(
      fc.property(history, (clean) => {
        const found = findViolations({ ...clean, acknowledged: [...clean.acknowledged, 'lost', 'lost'] });
        expect(found.map((v) => [v.kind, v.subject])).toEqual([['acknowledged-order-missing', 'lost']]);
      }),
      { numRuns: 30 },
    );
  });
});
