import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { HttpClientOptions } from '@self-healing-shop/resilience';
import {
  eventually,
  leakedUnits,
  orderBody,
  reservationOf,
  setStock,
  startFaultyNetwork,
  startOrder,
  startPlatform,
  stockOf,
  type FaultyNetwork,
  type OrderReplica,
  type Platform,
} from './support.ts';

// Issue 9: reservations held for orders that failed. Each test plants one way a reservation call can
// end without a definitive answer from inventory, then checks the data once the platform is quiet:
// the stock is back, the reservation is released (or a tombstone), the order failed.
let platform: Platform;
let network: FaultyNetwork;
let replica: OrderReplica | undefined;

beforeAll(async () => {
  platform = await startPlatform();
  network = await startFaultyNetwork(platform.inventory.http.url);
});

afterEach(async () => {
  await replica?.close();
  replica = undefined;
});

afterAll(async () => {
  await network?.stop();
  await platform?.close();
});

/** Short timeouts; `failures` consecutive failed calls open the circuit for `coolDownMs`. */
function policy(failures: number, coolDownMs = 300): Omit<HttpClientOptions, 'dependency' | 'baseURL'> {
  return {
    timeoutMs: 300,
    deadlineMs: 3_000,
    retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 },
    circuitBreaker: { failureDetector: { kind: 'consecutive', failures }, coolDownMs },
    bulkhead: { maxConcurrent: 16, maxQueue: 64 },
  };
}

async function orderReplica(failures: number, coolDownMs?: number): Promise<OrderReplica> {
  replica = await startOrder(platform.pg.url, {
    inventoryUrl: network.url,
    notificationUrl: platform.notification.http.url,
    policy: policy(failures, coolDownMs),
  });
  return replica;
}

async function place(order: OrderReplica, productId: string, quantity: number) {
  const res = await fetch(`${order.http.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(orderBody([{ productId, quantity }])),
  });
  return { status: res.status, body: (await res.json()) as { detail?: string } };
}

async function onlyOrder(
  productId: string,
): Promise<{ id: string; status: string; problem: { status?: number } | null }> {
  const { rows } = await platform.order.pool.query<{
    id: string;
    status: string;
    problem: { status?: number } | null;
  }>(`SELECT id, status, problem FROM orders.orders WHERE items @> $1::jsonb`, [
    JSON.stringify([{ productId }]),
  ]);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function releaseDelivered(orderId: string): Promise<boolean> {
  const { rows } = await platform.order.pool.query(
    `SELECT 1 FROM orders.outbox WHERE order_id = $1 AND kind = 'release-reservation' AND delivered_at IS NOT NULL`,
    [orderId],
  );
  return rows.length === 1;
}

// A reservation ends `released` only if it was reserved first (a release of nothing leaves `cancelled`),
// so the final status also proves that the planted call did reach inventory and take the stock.
describe('no stock leaks when a reservation ends without an answer', () => {
  it('releases a reservation whose answer was lost (both attempts time out)', async () => {
    await setStock(platform.inventory, 'p-001', 50);
    const order = await orderReplica(100);
    network.path = 'drop-answer';
    const answer = await place(order, 'p-001', 4);
    network.path = 'pass';
    expect(answer.status).toBeGreaterThanOrEqual(500);
    const { id, status, problem } = await onlyOrder('p-001');
    expect(status).toBe('failed');
    // The failed order keeps why it failed (replayed to a client that sends the same key again).
    expect(problem?.status).toBeGreaterThanOrEqual(500);

    await eventually('release delivered', () => releaseDelivered(id));
    expect(await stockOf(platform.inventory.pool, 'p-001')).toBe(50);
    expect(await reservationOf(platform.inventory.pool, id)).toBe('released');
    expect(await leakedUnits(platform.order.pool)).toBe(0);
  });

  it('releases the reservation of a call that opened the circuit, and arms a release for a call the open circuit refused', async () => {
    await setStock(platform.inventory, 'p-002', 50);
    const order = await orderReplica(1, 2_000);
    network.path = 'drop-answer';
    const first = await place(order, 'p-002', 5);
    // Inventory reserved, the answers were lost: the call failed and (one failure) opened the circuit.
    expect(first.status).toBeGreaterThanOrEqual(500);
    network.path = 'pass';
    const second = await place(order, 'p-005', 1);
    expect(second.status).toBe(503);
    expect(second.body.detail).toMatch(/circuit|CIRCUIT_OPEN/i);

    const { id, status } = await onlyOrder('p-002');
    expect(status).toBe('failed');
    const refused = await onlyOrder('p-005');
    expect(refused.status).toBe('failed');
    await eventually('both releases delivered once the circuit lets them through', async () => {
      return (await releaseDelivered(id)) && (await releaseDelivered(refused.id));
    });
    expect(await stockOf(platform.inventory.pool, 'p-002')).toBe(50);
    expect(await reservationOf(platform.inventory.pool, id)).toBe('released');
    // Nothing was sent for the refused call: its release leaves a tombstone, no stock moved.
    expect(await reservationOf(platform.inventory.pool, refused.id)).toBe('cancelled');
    expect(await leakedUnits(platform.order.pool)).toBe(0);
  });

  it('releases a reservation whose connection was reset after inventory reserved', async () => {
    await setStock(platform.inventory, 'p-003', 50);
    const order = await orderReplica(100);
    network.path = 'reset';
    const answer = await place(order, 'p-003', 6);
    network.path = 'pass';
    expect(answer.status).toBeGreaterThanOrEqual(500);
    const { id, status } = await onlyOrder('p-003');
    expect(status).toBe('failed');

    await eventually('release delivered', () => releaseDelivered(id));
    expect(await stockOf(platform.inventory.pool, 'p-003')).toBe(50);
    expect(await reservationOf(platform.inventory.pool, id)).toBe('released');
    expect(await leakedUnits(platform.order.pool)).toBe(0);
  });

  it('refuses a reservation that arrives after its release, leaving a tombstone and the stock intact', async () => {
    await setStock(platform.inventory, 'p-004', 50);
    const order = await orderReplica(100);
    network.path = 'hold';
    const answer = await place(order, 'p-004', 7);
    network.path = 'pass';
    expect(answer.status).toBeGreaterThanOrEqual(500);
    const { id, status } = await onlyOrder('p-004');
    expect(status).toBe('failed');

    // The release reaches inventory first: nothing was reserved, it leaves a tombstone.
    await eventually('release delivered', () => releaseDelivered(id));
    expect(await reservationOf(platform.inventory.pool, id)).toBe('cancelled');
    // Then the reservations held in the network arrive, and are refused.
    // (How many attempts were held depends on the policy's retries and hedges; each one is refused.)
    const late = await network.deliverHeld();
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((status) => status === 409)).toBe(true);
    expect(await stockOf(platform.inventory.pool, 'p-004')).toBe(50);
    expect(await reservationOf(platform.inventory.pool, id)).toBe('cancelled');
    expect(await leakedUnits(platform.order.pool)).toBe(0);
  });
});
