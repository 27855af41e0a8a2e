import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  startRestartablePostgres,
  until,
  type RestartablePostgres,
} from '@self-healing-shop/service-kit/testing';
import { ReservationReleasedError } from '../src/inventory-client.ts';
import { requestHash } from '../src/order-service.ts';
import { OrderStore } from '../src/order-store.ts';
import {
  eventually,
  metricValue,
  orderBody,
  setStock,
  startInventory,
  startNotification,
  startOrder,
  stockOf,
  type OrderReplica,
  type Service,
} from './support.ts';

// What a replica that dies mid-way leaves behind, and how the others recover it.
const PENDING_TIMEOUT_MS = 5 * 60_000;
const STALE = 2 * PENDING_TIMEOUT_MS;
let pg: RestartablePostgres;
let inventory: Service;
let notification: Service;
let order: OrderReplica;
let orders: OrderStore;

beforeAll(async () => {
  pg = await startRestartablePostgres();
  [inventory, notification] = await Promise.all([startInventory(pg.url), startNotification(pg.url)]);
  // The sweeper is driven by hand; the dispatcher runs.
  order = await startOrder(pg.url, {
    inventoryUrl: inventory.http.url,
    notificationUrl: notification.http.url,
    workers: false,
    // Far above this file's run time: an order placed here at age 0 never turns stale during it, and
    // the abandoned ones are planted older than it.
    app: { sweeper: { pendingTimeoutMs: PENDING_TIMEOUT_MS } },
  });
  order.dispatcher.start();
  orders = new OrderStore(order.pool);
});

afterAll(async () => {
  await order?.close();
  await Promise.all([inventory?.close(), notification?.close()]);
  await pg?.dispose();
});

/** A pending order as a replica leaves it when it dies after inserting it (and, optionally, reserving). */
async function abandoned(
  key: string,
  items: Array<{ productId: string; quantity: number }>,
  ageMs: number,
  reserve: boolean,
) {
  const body = orderBody(items);
  const inserted = await orders.insertPending({
    id: randomUUID(),
    idempotencyKey: key,
    requestHash: requestHash(body),
    customerEmail: body.customer.email,
    items,
    now: new Date(Date.now() - ageMs),
  });
  if (!inserted.created) throw new Error('key used before');
  if (reserve) await order.inventory.reserve(inserted.order.id, items);
  return { id: inserted.order.id, body };
}

async function statusOf(id: string): Promise<string | undefined> {
  const { rows } = await order.pool.query<{ status: string }>(
    'SELECT status FROM orders.orders WHERE id = $1',
    [id],
  );
  return rows[0]?.status;
}

describe('recovery after a crash', () => {
  it('finishes an order left pending when its client retries with the same key, reserving once', async () => {
    await setStock(inventory, 'p-001', 20);
    const { id, body } = await abandoned('crash-retry-1', [{ productId: 'p-001', quantity: 5 }], 0, true);
    expect(await stockOf(inventory.pool, 'p-001')).toBe(15);
    const res = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'crash-retry-1')
      .send(body)
      .expect(200);
    expect(res.body).toMatchObject({ id, status: 'confirmed' });
    expect(await stockOf(inventory.pool, 'p-001')).toBe(15);
  });

  it('fails an abandoned pending order, gives its stock back and frees its key', async () => {
    await setStock(inventory, 'p-002', 20);
    const failedBefore = await metricValue(order.registry, 'orders_total', { outcome: 'failed' });
    const { id, body } = await abandoned('crash-sweep-1', [{ productId: 'p-002', quantity: 6 }], STALE, true);
    const young = await abandoned('crash-sweep-young', [{ productId: 'p-002', quantity: 1 }], 0, false);
    expect(await stockOf(inventory.pool, 'p-002')).toBe(14);

    expect(await order.sweeper.runOnce()).toEqual([id]);
    expect(await statusOf(id)).toBe('failed');
    expect(await statusOf(young.id)).toBe('pending');
    expect(await metricValue(order.registry, 'orders_total', { outcome: 'failed' })).toBe(failedBefore + 1);
    await eventually('stock released', async () => (await stockOf(inventory.pool, 'p-002')) === 20);

    // The client's retry places the order anew.
    const res = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'crash-sweep-1')
      .send(body)
      .expect(201);
    expect(res.body.id).not.toBe(id);
    expect(await stockOf(inventory.pool, 'p-002')).toBe(14);
  });

  it('lets two sweepers share the stale orders without failing one twice', async () => {
    const stale = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        abandoned(`crash-many-${i}`, [{ productId: 'p-003', quantity: 1 }], STALE, false),
      ),
    );
    const [a, b] = await Promise.all([order.sweeper.runOnce(), order.sweeper.runOnce()]);
    const swept = [...(a ?? []), ...(b ?? [])];
    expect(new Set(swept)).toEqual(new Set(stale.map((s) => s.id)));
    expect(swept).toHaveLength(30);
  });

  it('keeps no stock for a reservation that arrives after its order was released', async () => {
    await setStock(inventory, 'p-004', 20);
    const { id } = await abandoned('crash-late-1', [{ productId: 'p-004', quantity: 3 }], STALE, false);
    await order.sweeper.runOnce();
    await eventually('release delivered', async () => {
      const { rows } = await order.pool.query(
        `SELECT 1 FROM orders.outbox WHERE order_id = $1 AND kind = 'release-reservation' AND delivered_at IS NOT NULL`,
        [id],
      );
      return rows.length === 1;
    });
    // The dead replica's reservation request finally reaches inventory.
    await expect(order.inventory.reserve(id, [{ productId: 'p-004', quantity: 3 }])).rejects.toBeInstanceOf(
      ReservationReleasedError,
    );
    expect(await stockOf(inventory.pool, 'p-004')).toBe(20);
  });

  it('answers 503 with Retry-After and turns unready while the database is down, then recovers without a restart', async () => {
    await pg.stop();
    const res = await request(order.app)
      .post('/orders')
      .send(orderBody([{ productId: 'p-001', quantity: 1 }]))
      .expect(503);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.type).toBe('urn:problem:database-unavailable');
    await until('/ready 503', async () => (await request(order.app).get('/ready')).status === 503);
    await request(order.app).get('/health').expect(200);

    await pg.start();
    await until('/ready 200', async () => (await request(order.app).get('/ready')).status === 200);
    await setStock(inventory, 'p-005', 10);
    await request(order.app)
      .post('/orders')
      .send(orderBody([{ productId: 'p-005', quantity: 2 }]))
      .expect(201);
    expect(await stockOf(inventory.pool, 'p-005')).toBe(8);
  });
});
