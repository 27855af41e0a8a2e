import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { AuditPage, AuditProduct, AuditReservation } from '@self-healing-shop/contracts';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { allAuditPages, promtoolCheckMetrics } from '@self-healing-shop/service-kit/testing';
import { orderId, startInventory, type TestInventory } from './support.ts';

const TOKEN = 'audit-token-123';
let pg: RunningPostgres;
let inventory: TestInventory;

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  inventory = await startInventory(pg.url, { adminToken: TOKEN, defaultMetrics: true });
});

afterAll(async () => {
  await inventory?.close();
  await pg?.stop();
});

async function audit<T>(path: string): Promise<T[]> {
  const { items } = await allAuditPages(async (after) => {
    const res = await request(inventory.app)
      .get(path)
      .query({ limit: 5, ...(after ? { after } : {}) })
      .set('x-admin-token', TOKEN)
      .expect(200);
    const page = res.body as AuditPage<T>;
    expect(page.items.length).toBeLessThanOrEqual(5);
    return page;
  });
  return items;
}

const reserve = (id: string, productId: string, quantity: number) =>
  request(inventory.app)
    .post('/reservations')
    .send({ orderId: id, items: [{ productId, quantity }] });

describe('audit API', () => {
  it('refuses a request without the admin token', async () => {
    for (const path of ['/admin/audit/products', '/admin/audit/reservations']) {
      const res = await request(inventory.app).get(path).expect(401);
      expect(res.body.type).toBe('urn:problem:unauthorized');
    }
  });

  it('lists every product in pages, with the units it received (seed and restocks)', async () => {
    const products = await audit<AuditProduct>('/admin/audit/products');
    expect(products.map((p) => p.id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `p-${String(i + 1).padStart(3, '0')}`),
    );
    expect(products.find((p) => p.id === 'p-012')).toEqual({
      id: 'p-012',
      stock: 1_000_000,
      receivedUnits: 1_000_000,
    });
  });

  it('keeps receivedUnits = stock + units held by reservations through restocks, reservations and releases', async () => {
    // A correction down to 40 writes off 999,960 units: received is what is in hand plus what is held.
    await request(inventory.app).put('/products/p-005/stock').send({ stock: 40 }).expect(200);
    const [a, b, c, late] = [orderId('a'), orderId('b'), orderId('c'), orderId('late')];
    await reserve(a, 'p-005', 10).expect(201);
    await reserve(b, 'p-005', 5).expect(201);
    await reserve(c, 'p-005', 100).expect(409);
    await request(inventory.app).delete(`/reservations/${b}`).expect(200);
    // A release before its reservation leaves a tombstone; the late reservation is refused.
    await request(inventory.app).delete(`/reservations/${late}`).expect(404);
    await reserve(late, 'p-005', 3).expect(409);
    // A restock of 60 units.
    await request(inventory.app).put('/products/p-005/stock').send({ stock: 90 }).expect(200);

    const product = (await audit<AuditProduct>('/admin/audit/products')).find((p) => p.id === 'p-005');
    expect(product).toEqual({ id: 'p-005', stock: 90, receivedUnits: 100 });
    const mine = (await audit<AuditReservation>('/admin/audit/reservations')).filter((r) =>
      [a, b, c, late].includes(r.orderId),
    );
    expect(mine).toEqual(
      expect.arrayContaining([
        { orderId: a, status: 'reserved', items: [{ productId: 'p-005', quantity: 10 }] },
        { orderId: b, status: 'released', items: [{ productId: 'p-005', quantity: 5 }] },
        { orderId: late, status: 'cancelled', items: [] },
      ]),
    );
    expect(mine).toHaveLength(3);
    const held = mine.filter((r) => r.status === 'reserved').reduce((n, r) => n + r.items[0]!.quantity, 0);
    expect(product!.receivedUnits).toBe(product!.stock + held);
  });

  it('answers 400 for a cursor it did not issue', async () => {
    const res = await request(inventory.app)
      .get('/admin/audit/products')
      .query({ after: 'bm90LWEtY3Vyc29y' })
      .set('x-admin-token', TOKEN)
      .expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'after' })]);
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    await reserve(orderId('m'), 'p-001', 1).expect(201);
    const metrics = await request(inventory.app).get('/metrics').expect(200);
    expect(metrics.text).toContain('nodejs_heap_size_used_bytes');
    expect(await promtoolCheckMetrics(metrics.text)).toBe('');
  });
});
