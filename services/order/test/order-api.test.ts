import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  eventually,
  metricValue,
  orderBody,
  setStock,
  startPlatform,
  stockOf,
  type OrderReplica,
  type Platform,
  type Service,
} from './support.ts';

let platform: Platform;
let inventory: Service;
let notification: Service;
let order: OrderReplica;

beforeAll(async () => {
  platform = await startPlatform();
  ({ inventory, notification, order } = platform);
});

afterAll(async () => {
  await platform?.close();
});

async function dataSnapshot() {
  const { rows } = await order.pool.query<{ orders: number; outbox: number; stock: string }>(
    `SELECT (SELECT count(*)::int FROM orders.orders) AS orders, (SELECT count(*)::int FROM orders.outbox) AS outbox,
       (SELECT string_agg(id || '=' || stock, ',' ORDER BY id) FROM inventory.products) AS stock`,
  );
  return rows[0];
}

async function notificationsFor(orderId: string): Promise<unknown[]> {
  const res = await request(notification.http.url).get('/notifications').query({ orderId }).expect(200);
  return res.body.items as unknown[];
}

describe('POST /orders', () => {
  it('confirms an order, reserves its stock and sends its confirmation', async () => {
    await setStock(inventory, 'p-001', 100);
    const res = await request(order.app)
      .post('/orders')
      .send(orderBody([{ productId: 'p-001', quantity: 2 }]))
      .expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'confirmed',
      customer: { email: 'ada@example.com' },
      items: [{ productId: 'p-001', quantity: 2 }],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      notification: { status: 'sent' },
    });
    expect(res.headers.location).toBe(`/orders/${res.body.id}`);
    expect(await stockOf(inventory.pool, 'p-001')).toBe(98);
    expect(await notificationsFor(res.body.id)).toHaveLength(1);
    const stored = await request(order.app).get(`/orders/${res.body.id}`).expect(200);
    expect(stored.body).toMatchObject({
      id: res.body.id,
      status: 'confirmed',
      notification: { status: 'sent' },
    });
  });

  it('merges lines that name the same product', async () => {
    await setStock(inventory, 'p-002', 10);
    const res = await request(order.app)
      .post('/orders')
      .send(
        orderBody([
          { productId: 'p-002', quantity: 1 },
          { productId: 'p-003', quantity: 1 },
          { productId: 'p-002', quantity: 3 },
        ]),
      )
      .expect(201);
    expect(res.body.items).toEqual([
      { productId: 'p-002', quantity: 4 },
      { productId: 'p-003', quantity: 1 },
    ]);
    expect(await stockOf(inventory.pool, 'p-002')).toBe(6);
  });

  it('replays the first order for a repeated Idempotency-Key without reserving again', async () => {
    await setStock(inventory, 'p-004', 10);
    const body = orderBody([{ productId: 'p-004', quantity: 3 }]);
    const first = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'key-replay-1')
      .send(body)
      .expect(201);
    // Same items in another order of lines: the same request.
    const again = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'key-replay-1')
      .send(body)
      .expect(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.status).toBe('confirmed');
    expect(await stockOf(inventory.pool, 'p-004')).toBe(7);
  });

  it('answers 422 when an Idempotency-Key comes back with another body, changing nothing', async () => {
    await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'key-reuse-1')
      .send(orderBody([{ productId: 'p-005', quantity: 1 }]))
      .expect(201);
    const before = await dataSnapshot();
    const res = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'key-reuse-1')
      .send(orderBody([{ productId: 'p-005', quantity: 2 }]))
      .expect(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:problem:idempotency-key-reused', status: 422 });
    expect(res.body.detail).toContain('key-reuse-1');
    expect(await dataSnapshot()).toEqual(before);
  });

  it('rejects with 409 naming the short product and keeps the stock', async () => {
    await setStock(inventory, 'p-006', 1);
    const rejectedBefore = await metricValue(order.registry, 'orders_total', { outcome: 'rejected' });
    const body = orderBody([
      { productId: 'p-001', quantity: 1 },
      { productId: 'p-006', quantity: 5 },
    ]);
    const res = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'key-short-1')
      .send(body)
      .expect(409);
    expect(res.body).toMatchObject({ type: 'urn:problem:insufficient-stock', status: 409 });
    expect(res.body.detail).toContain('p-006');
    expect(res.body.detail).not.toContain('p-001');
    expect(res.body.errors).toEqual([
      { path: 'items.1.quantity', message: expect.stringContaining('p-006') },
    ]);
    expect(await stockOf(inventory.pool, 'p-006')).toBe(1);
    expect(await metricValue(order.registry, 'orders_total', { outcome: 'rejected' })).toBe(
      rejectedBefore + 1,
    );
    // The rejection is the answer to that key from now on.
    const replay = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'key-short-1')
      .send(body)
      .expect(409);
    expect(replay.body.detail).toBe(res.body.detail);
  });

  it('answers 404 naming an unknown product and keeps no order', async () => {
    const before = await dataSnapshot();
    const res = await request(order.app)
      .post('/orders')
      .send(
        orderBody([
          { productId: 'p-001', quantity: 1 },
          { productId: 'no-such-thing', quantity: 1 },
        ]),
      )
      .expect(404);
    expect(res.body).toMatchObject({ type: 'urn:problem:unknown-product', status: 404 });
    expect(res.body.detail).toContain('no-such-thing');
    expect(await dataSnapshot()).toEqual(before);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['a missing customer', { items: [{ productId: 'p-001', quantity: 1 }] }, /customer/],
    [
      'a malformed email',
      orderBody([{ productId: 'p-001', quantity: 1 }], 'not-an-email'),
      /customer\.email/,
    ],
    ['no items', orderBody([]), /items/],
    [
      '21 items',
      orderBody(Array.from({ length: 21 }, (_, i) => ({ productId: `p-${i}`, quantity: 1 }))),
      /items/,
    ],
    ['quantity 0', orderBody([{ productId: 'p-001', quantity: 0 }]), /items\.0\.quantity/],
    ['quantity 1001', orderBody([{ productId: 'p-001', quantity: 1001 }]), /items\.0\.quantity/],
    ['a fractional quantity', orderBody([{ productId: 'p-001', quantity: 1.5 }]), /items\.0\.quantity/],
    [
      'a quantity given as a string',
      orderBody([{ productId: 'p-001', quantity: '2' }] as never),
      /items\.0\.quantity/,
    ],
    [
      'merged lines over 1000',
      orderBody([
        { productId: 'p-001', quantity: 600 },
        { productId: 'p-001', quantity: 600 },
      ]),
      /p-001: merged quantity 1200/,
    ],
    ['an unknown field', { ...orderBody([{ productId: 'p-001', quantity: 1 }]), coupon: 'FREE' }, /coupon/],
    ['a missing productId', orderBody([{ quantity: 1 }] as never), /items\.0\.productId/],
  ];

  it.each(invalid)('answers 400 for %s, naming the field, changing nothing', async (_name, body, names) => {
    const before = await dataSnapshot();
    const res = await request(order.app)
      .post('/orders')
      .send(body as object)
      .expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:problem:validation', status: 400 });
    expect(`${res.body.detail} ${JSON.stringify(res.body.errors)}`).toMatch(names);
    expect(await dataSnapshot()).toEqual(before);
  });

  it('answers 400 for malformed JSON and 413 for an oversized body, changing nothing', async () => {
    const before = await dataSnapshot();
    const malformed = await request(order.app)
      .post('/orders')
      .set('content-type', 'application/json')
      .send('{"customer": {')
      .expect(400);
    expect(malformed.body).toMatchObject({ type: 'urn:problem:malformed-json' });
    const huge = JSON.stringify({
      ...orderBody([{ productId: 'p-001', quantity: 1 }]),
      pad: 'x'.repeat(70_000),
    });
    const large = await request(order.app)
      .post('/orders')
      .set('content-type', 'application/json')
      .send(huge)
      .expect(413);
    expect(large.body).toMatchObject({ type: 'urn:problem:payload-too-large', status: 413 });
    const badKey = await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'x'.repeat(300))
      .send(orderBody([{ productId: 'p-001', quantity: 1 }]))
      .expect(400);
    expect(badKey.body.detail).toContain('Idempotency-Key');
    expect(await dataSnapshot()).toEqual(before);
  });
});

describe('GET /orders', () => {
  it('answers 404 naming an unknown or malformed order id', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const res = await request(order.app).get(`/orders/${unknown}`).expect(404);
    expect(res.body.detail).toContain(unknown);
    const malformed = await request(order.app).get('/orders/nope').expect(404);
    expect(malformed.body.detail).toContain('nope');
  });

  it('pages newest first with an opaque cursor', async () => {
    await setStock(inventory, 'p-007', 100);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(order.app)
        .post('/orders')
        .send(orderBody([{ productId: 'p-007', quantity: 1 }]))
        .expect(201);
      ids.push(res.body.id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await request(order.app)
        .get('/orders')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((o: { id: string }) => o.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const { rows } = await order.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM orders.orders');
    expect(seen).toHaveLength(rows[0]?.n ?? -1);
    const first = await request(order.app).get('/orders').expect(200);
    expect(first.body.items.length).toBe(Math.min(20, seen.length));
  });

  it('answers 400 for a bad limit or cursor', async () => {
    await request(order.app).get('/orders').query({ limit: 0 }).expect(400);
    await request(order.app).get('/orders').query({ limit: 101 }).expect(400);
    const res = await request(order.app).get('/orders').query({ cursor: 'bm9wZQ' }).expect(400);
    expect(res.body.detail).toContain('cursor');
  });
});

describe('POST /orders/:id/cancel', () => {
  it('cancels a confirmed order once and gives its stock back', async () => {
    await setStock(inventory, 'p-008', 10);
    const placed = await request(order.app)
      .post('/orders')
      .send(orderBody([{ productId: 'p-008', quantity: 4 }]))
      .expect(201);
    expect(await stockOf(inventory.pool, 'p-008')).toBe(6);
    const cancelledBefore = await metricValue(order.registry, 'orders_total', { outcome: 'cancelled' });
    const res = await request(order.app).post(`/orders/${placed.body.id}/cancel`).expect(200);
    expect(res.body).toMatchObject({ id: placed.body.id, status: 'cancelled' });
    const again = await request(order.app).post(`/orders/${placed.body.id}/cancel`).expect(200);
    expect(again.body.status).toBe('cancelled');
    await eventually('stock released', async () => (await stockOf(inventory.pool, 'p-008')) === 10);
    expect(await metricValue(order.registry, 'orders_total', { outcome: 'cancelled' })).toBe(
      cancelledBefore + 1,
    );
    // The release went through the outbox and is recorded as delivered.
    const { rows } = await order.pool.query(
      `SELECT delivered_at FROM orders.outbox WHERE order_id = $1 AND kind = 'release-reservation'`,
      [placed.body.id],
    );
    await eventually('release recorded', async () => {
      const r = await order.pool.query(
        `SELECT 1 FROM orders.outbox WHERE order_id = $1 AND kind = 'release-reservation' AND delivered_at IS NOT NULL`,
        [placed.body.id],
      );
      return r.rowCount === 1;
    });
    expect(rows).toHaveLength(1);
  });

  it('answers 409 for a rejected order and 404 for an unknown one', async () => {
    await setStock(inventory, 'p-009', 0);
    await request(order.app)
      .post('/orders')
      .set('Idempotency-Key', 'key-cancel-rejected')
      .send(orderBody([{ productId: 'p-009', quantity: 1 }]))
      .expect(409);
    const { rows } = await order.pool.query<{ id: string }>(
      `SELECT id FROM orders.orders WHERE idempotency_key = 'key-cancel-rejected'`,
    );
    const id = rows[0]?.id;
    const res = await request(order.app).post(`/orders/${id}/cancel`).expect(409);
    expect(res.body).toMatchObject({ type: 'urn:problem:order-state' });
    expect(res.body.detail).toContain('rejected');
    await request(order.app).post('/orders/00000000-0000-4000-8000-000000000001/cancel').expect(404);
  });
});

describe('probes and metrics', () => {
  it('is ready with the database and both circuits checked', async () => {
    const res = await request(order.app).get('/ready').expect(200);
    expect(res.body.status).toBe('healthy');
    expect(res.body.checks.map((c: { name: string }) => c.name).sort()).toEqual([
      'circuit:inventory',
      'circuit:notification',
      'database',
    ]);
  });

  it('exports orders_total, outbox_pending and the dependencies metrics', async () => {
    const res = await request(order.app).get('/metrics').expect(200);
    for (const outcome of ['confirmed', 'rejected', 'failed', 'cancelled']) {
      expect(res.text).toContain(`orders_total{outcome="${outcome}"}`);
    }
    expect(res.text).toMatch(/^outbox_pending \d+$/m);
    expect(res.text).toContain('resilience_circuit_state{dependency="inventory",state="closed"} 1');
    expect(res.text).toContain('resilience_calls_total{dependency="notification",outcome="success"}');
    expect(res.text).toContain('feature_enabled{service="order",feature="send-confirmation"} 1');
  });
});
