import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { counterValue, orderId, snapshot, startInventory, type TestInventory } from './support.ts';

let pg: RunningPostgres;
let inventory: TestInventory;

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  inventory = await startInventory(pg.url);
});

afterAll(async () => {
  await inventory?.close();
  await pg?.stop();
});

const PROBLEM = /^application\/problem\+json/;

async function setStock(productId: string, stock: number): Promise<void> {
  await request(inventory.app).put(`/products/${productId}/stock`).send({ stock }).expect(200);
}

function reservations(outcome: string): Promise<number> {
  return counterValue(inventory.registry, 'inventory_reservations_total', { outcome });
}

describe('catalogue', () => {
  it('seeds twelve products p-001 to p-012 with names, integer prices and a large stock', async () => {
    const res = await request(inventory.app).get('/products').expect(200);
    expect(res.body.nextCursor).toBeUndefined();
    expect(res.body.items).toHaveLength(12);
    expect(res.body.items.map((p: { id: string }) => p.id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `p-${String(i + 1).padStart(3, '0')}`),
    );
    for (const product of res.body.items) {
      expect(Object.keys(product).sort()).toEqual(['id', 'name', 'priceCents', 'stock']);
      expect(product.name).toEqual(expect.any(String));
      expect(Number.isInteger(product.priceCents) && product.priceCents > 0).toBe(true);
      expect(Number.isInteger(product.stock)).toBe(true);
    }
  });

  it('pages with limit and an opaque cursor until nextCursor is absent', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await request(inventory.app)
        .get('/products')
        .query({ limit: 5, ...(cursor ? { cursor } : {}) })
        .expect(200);
      pages += 1;
      expect(res.body.items.length).toBeLessThanOrEqual(5);
      seen.push(...res.body.items.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=2.5', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
  ])('rejects the query %s with 400 naming %s', async (query, field) => {
    const res = await request(inventory.app).get(`/products?${query}`).expect(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
  });

  it('returns one product by id', async () => {
    await setStock('p-003', 77);
    const res = await request(inventory.app).get('/products/p-003').expect(200);
    expect(res.body).toEqual({ id: 'p-003', name: 'Paper filters, 100 pack', priceCents: 599, stock: 77 });
  });

  it('answers 404 problem+json naming an unknown product', async () => {
    const res = await request(inventory.app).get('/products/p-999').expect(404);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ type: 'urn:problem:not-found', status: 404, title: 'Not found' });
    expect(res.body.detail).toContain('p-999');
  });
});

describe('setting stock', () => {
  it('sets the stock of a product', async () => {
    const res = await request(inventory.app).put('/products/p-010/stock').send({ stock: 42 }).expect(200);
    expect(res.body).toMatchObject({ id: 'p-010', stock: 42 });
    expect((await request(inventory.app).get('/products/p-010')).body.stock).toBe(42);
  });

  it.each([
    [{ stock: -1 }, 'stock'],
    [{ stock: 1.5 }, 'stock'],
    [{ stock: '10' }, 'stock'],
    [{}, 'stock'],
    [{ stock: 1, extra: true }, '(root)'],
  ])('rejects %j with 400 and changes nothing', async (body, path) => {
    const before = await snapshot(inventory.pool);
    const res = await request(inventory.app).put('/products/p-010/stock').send(body).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await snapshot(inventory.pool)).toEqual(before);
  });

  it('answers 404 for the stock of an unknown product', async () => {
    const res = await request(inventory.app).put('/products/p-404/stock').send({ stock: 1 }).expect(404);
    expect(res.body.detail).toContain('p-404');
  });
});

describe('reserving', () => {
  beforeEach(async () => {
    await setStock('p-001', 10);
    await setStock('p-002', 5);
  });

  it('reserves every item and takes the stock (201)', async () => {
    const id = orderId();
    const before = await reservations('reserved');
    const res = await request(inventory.app)
      .post('/reservations')
      .send({
        orderId: id,
        items: [
          { productId: 'p-002', quantity: 2 },
          { productId: 'p-001', quantity: 3 },
        ],
      })
      .expect(201);
    expect(res.body).toEqual({
      orderId: id,
      status: 'reserved',
      items: [
        { productId: 'p-002', quantity: 2 },
        { productId: 'p-001', quantity: 3 },
      ],
      createdAt: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(res.body.createdAt))).toBe(false);
    const after = await snapshot(inventory.pool);
    expect(after.stock['p-001']).toBe(7);
    expect(after.stock['p-002']).toBe(3);
    expect(await reservations('reserved')).toBe(before + 1);
    const read = await request(inventory.app).get(`/reservations/${id}`).expect(200);
    expect(read.body).toEqual(res.body);
  });

  it('answers a repeated order id with 200 and the same reservation, reserving once', async () => {
    const id = orderId();
    const body = {
      orderId: id,
      items: [
        { productId: 'p-001', quantity: 4 },
        { productId: 'p-002', quantity: 1 },
      ],
    };
    const first = await request(inventory.app).post('/reservations').send(body).expect(201);
    const duplicates = await reservations('duplicate');
    // The same items in another order are the same request.
    const again = await request(inventory.app)
      .post('/reservations')
      .send({ orderId: id, items: [...body.items].reverse() })
      .expect(200);
    expect(again.body).toEqual(first.body);
    expect((await snapshot(inventory.pool)).stock['p-001']).toBe(6);
    expect(await reservations('duplicate')).toBe(duplicates + 1);
  });

  it('rejects a repeated order id with other items (409) and changes nothing', async () => {
    const id = orderId();
    await request(inventory.app)
      .post('/reservations')
      .send({ orderId: id, items: [{ productId: 'p-001', quantity: 1 }] })
      .expect(201);
    const before = await snapshot(inventory.pool);
    const res = await request(inventory.app)
      .post('/reservations')
      .send({ orderId: id, items: [{ productId: 'p-001', quantity: 2 }] })
      .expect(409);
    expect(res.body).toMatchObject({ type: 'urn:problem:idempotency-mismatch', status: 409 });
    expect(res.body.detail).toContain(id);
    expect(await snapshot(inventory.pool)).toEqual(before);
  });

  it('rejects the whole order when stock is short (409 naming each short item) and changes nothing', async () => {
    const before = await snapshot(inventory.pool);
    const insufficient = await reservations('insufficient_stock');
    const id = orderId();
    const res = await request(inventory.app)
      .post('/reservations')
      .send({
        orderId: id,
        items: [
          { productId: 'p-001', quantity: 11 },
          { productId: 'p-003', quantity: 1 },
          { productId: 'p-002', quantity: 6 },
        ],
      })
      .expect(409);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({
      type: 'urn:problem:insufficient-stock',
      title: 'Insufficient stock',
      status: 409,
    });
    expect(res.body.errors).toEqual([
      { path: 'items.0.quantity', message: 'only 10 of p-001 in stock, 11 requested' },
      { path: 'items.2.quantity', message: 'only 5 of p-002 in stock, 6 requested' },
    ]);
    expect(await snapshot(inventory.pool)).toEqual(before);
    expect(await reservations('insufficient_stock')).toBe(insufficient + 1);
    // The order id stays free: a later, satisfiable request with it succeeds.
    await request(inventory.app)
      .post('/reservations')
      .send({ orderId: id, items: [{ productId: 'p-001', quantity: 10 }] })
      .expect(201);
  });

  it('rejects an unknown product with 404 naming it and changes nothing', async () => {
    const before = await snapshot(inventory.pool);
    const res = await request(inventory.app)
      .post('/reservations')
      .send({
        orderId: orderId(),
        items: [
          { productId: 'p-001', quantity: 1 },
          { productId: 'p-777', quantity: 1 },
        ],
      })
      .expect(404);
    expect(res.body).toMatchObject({ type: 'urn:problem:unknown-product', status: 404 });
    expect(res.body.errors).toEqual([{ path: 'items.1.productId', message: 'unknown product p-777' }]);
    expect(await snapshot(inventory.pool)).toEqual(before);
  });

  const valid = { orderId: 'ord-valid-1', items: [{ productId: 'p-001', quantity: 1 }] };
  it.each([
    ['a missing orderId', { items: valid.items }, ['orderId']],
    ['a numeric orderId', { ...valid, orderId: 42 }, ['orderId']],
    ['an orderId with a slash', { ...valid, orderId: 'a/b' }, ['orderId']],
    ['missing items', { orderId: valid.orderId }, ['items']],
    ['empty items', { ...valid, items: [] }, ['items']],
    ['items that are not an array', { ...valid, items: 'p-001' }, ['items']],
    ['a zero quantity', { ...valid, items: [{ productId: 'p-001', quantity: 0 }] }, ['items.0.quantity']],
    [
      'a negative quantity',
      { ...valid, items: [{ productId: 'p-001', quantity: -2 }] },
      ['items.0.quantity'],
    ],
    [
      'a fractional quantity',
      { ...valid, items: [{ productId: 'p-001', quantity: 1.5 }] },
      ['items.0.quantity'],
    ],
    [
      'a quantity above 1000',
      { ...valid, items: [{ productId: 'p-001', quantity: 1001 }] },
      ['items.0.quantity'],
    ],
    ['a string quantity', { ...valid, items: [{ productId: 'p-001', quantity: '1' }] }, ['items.0.quantity']],
    ['a missing productId', { ...valid, items: [{ quantity: 1 }] }, ['items.0.productId']],
    [
      'the same product twice',
      {
        ...valid,
        items: [
          { productId: 'p-001', quantity: 1 },
          { productId: 'p-001', quantity: 2 },
        ],
      },
      ['items.1.productId'],
    ],
    ['an unknown field', { ...valid, priority: 'high' }, ['(root)']],
    [
      'an unknown item field',
      { ...valid, items: [{ productId: 'p-001', quantity: 1, price: 3 }] },
      ['items.0'],
    ],
    [
      'several bad fields at once',
      { orderId: '', items: [{ productId: 'p-001', quantity: 0 }] },
      ['orderId', 'items.0.quantity'],
    ],
  ])('rejects %s with 400 naming the field and changes nothing', async (_what, body, paths) => {
    const before = await snapshot(inventory.pool);
    const res = await request(inventory.app).post('/reservations').send(body).expect(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ type: 'urn:problem:validation', title: 'Invalid request', status: 400 });
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(paths));
    expect(await snapshot(inventory.pool)).toEqual(before);
  });

  it('rejects malformed JSON with 400 and changes nothing', async () => {
    const before = await snapshot(inventory.pool);
    const res = await request(inventory.app)
      .post('/reservations')
      .set('content-type', 'application/json')
      .send('{"orderId": "x", "items": [')
      .expect(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.type).toBe('urn:problem:malformed-json');
    expect(await snapshot(inventory.pool)).toEqual(before);
  });

  it('rejects a body over 64 kB with 413 and changes nothing', async () => {
    const before = await snapshot(inventory.pool);
    const res = await request(inventory.app)
      .post('/reservations')
      .send({ orderId: orderId(), items: [{ productId: 'p-001', quantity: 1 }], padding: 'x'.repeat(70_000) })
      .expect(413);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ type: 'urn:problem:payload-too-large', status: 413 });
    expect(await snapshot(inventory.pool)).toEqual(before);
  });

  it('rejects a body that is not JSON with 400', async () => {
    const res = await request(inventory.app)
      .post('/reservations')
      .set('content-type', 'text/plain')
      .send('orderId=1')
      .expect(400);
    expect(res.body.errors).toEqual([{ path: '(root)', message: expect.any(String) }]);
  });
});

describe('releasing', () => {
  beforeEach(async () => {
    await setStock('p-004', 20);
  });

  it('gives the stock back once, however often the release is repeated', async () => {
    const id = orderId();
    await request(inventory.app)
      .post('/reservations')
      .send({ orderId: id, items: [{ productId: 'p-004', quantity: 8 }] })
      .expect(201);
    expect((await snapshot(inventory.pool)).stock['p-004']).toBe(12);
    const released = await reservations('released');

    const first = await request(inventory.app).delete(`/reservations/${id}`).expect(200);
    expect(first.body).toMatchObject({
      orderId: id,
      status: 'released',
      items: [{ productId: 'p-004', quantity: 8 }],
    });
    expect(first.body.releasedAt).toEqual(expect.any(String));
    const second = await request(inventory.app).delete(`/reservations/${id}`).expect(200);
    expect(second.body).toEqual(first.body);

    expect((await snapshot(inventory.pool)).stock['p-004']).toBe(20);
    expect(await reservations('released')).toBe(released + 1);
    expect((await request(inventory.app).get(`/reservations/${id}`).expect(200)).body.status).toBe(
      'released',
    );
  });

  it('refuses to reserve a released order again (409) and changes nothing', async () => {
    const id = orderId();
    const body = { orderId: id, items: [{ productId: 'p-004', quantity: 2 }] };
    await request(inventory.app).post('/reservations').send(body).expect(201);
    await request(inventory.app).delete(`/reservations/${id}`).expect(200);
    const before = await snapshot(inventory.pool);
    const res = await request(inventory.app).post('/reservations').send(body).expect(409);
    expect(res.body).toMatchObject({ type: 'urn:problem:reservation-released', status: 409 });
    expect(await snapshot(inventory.pool)).toEqual(before);
  });

  it('answers 404 for an unknown order id, and a reservation arriving later cannot take stock', async () => {
    const id = orderId('late');
    const res = await request(inventory.app).delete(`/reservations/${id}`).expect(404);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.detail).toContain(id);
    await request(inventory.app).delete(`/reservations/${id}`).expect(404);
    await request(inventory.app).get(`/reservations/${id}`).expect(404);

    const before = (await snapshot(inventory.pool)).stock['p-004'];
    const late = await request(inventory.app)
      .post('/reservations')
      .send({ orderId: id, items: [{ productId: 'p-004', quantity: 1 }] })
      .expect(409);
    expect(late.body.type).toBe('urn:problem:reservation-released');
    expect((await snapshot(inventory.pool)).stock['p-004']).toBe(before);
  });

  it('answers 404 for a malformed order id without touching the database', async () => {
    const before = await snapshot(inventory.pool);
    await request(inventory.app)
      .delete(`/reservations/${'x'.repeat(200)}`)
      .expect(404);
    await request(inventory.app).get('/reservations/a%20b').expect(404);
    expect(await snapshot(inventory.pool)).toEqual(before);
  });
});

describe('HTTP contract', () => {
  it('echoes a given x-request-id and creates one otherwise, on errors too', async () => {
    const given = await request(inventory.app)
      .get('/products/p-999')
      .set('x-request-id', 'test-req-1')
      .expect(404);
    expect(given.headers['x-request-id']).toBe('test-req-1');
    const created = await request(inventory.app).post('/reservations').send({}).expect(400);
    expect(created.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with 404 problem+json', async () => {
    const res = await request(inventory.app).get('/nope').expect(404);
    expect(res.headers['content-type']).toMatch(PROBLEM);
  });

  it('is live and ready with the database check', async () => {
    const live = await request(inventory.app).get('/health').expect(200);
    expect(live.body).toEqual({ status: 'healthy', checks: [] });
    const ready = await request(inventory.app).get('/ready').expect(200);
    expect(ready.body.status).toBe('healthy');
    expect(ready.body.checks).toEqual([expect.objectContaining({ name: 'database', status: 'healthy' })]);
  });

  it('exposes inventory_reservations_total and route-labelled HTTP metrics', async () => {
    // A release of its own, so that the route label exists whichever test ran before.
    await request(inventory.app).delete(`/reservations/${orderId('metrics')}`);
    const res = await request(inventory.app).get('/metrics').expect(200);
    for (const outcome of ['reserved', 'duplicate', 'insufficient_stock', 'released']) {
      expect(res.text).toMatch(
        new RegExp(`^inventory_reservations_total\\{outcome="${outcome}"\\} \\d+$`, 'm'),
      );
    }
    expect(res.text).toContain('route="/reservations/:orderId"');
  });
});

describe('fault injection', () => {
  it('mounts the admin API when enabled: an injected error answers before any stock changes', async () => {
    const chaotic = await startInventory(pg.url, { adminToken: 'test-token-123', faultInjection: true });
    try {
      const auth = { 'x-admin-token': 'test-token-123' };
      await request(chaotic.app).get('/admin/faults').expect(401);
      await request(chaotic.app)
        .post('/admin/faults')
        .set(auth)
        .send({ type: 'error', route: '/reservations', method: 'POST', status: 503 })
        .expect(201);
      const before = await snapshot(chaotic.pool);
      await request(chaotic.app)
        .post('/reservations')
        .send({ orderId: orderId('chaos'), items: [{ productId: 'p-001', quantity: 1 }] })
        .expect(503);
      expect(await snapshot(chaotic.pool)).toEqual(before);
      await request(chaotic.app).get('/products/p-001').expect(200);
      await request(chaotic.app).delete('/admin/faults').set(auth).expect(204);
    } finally {
      await chaotic.close();
    }
  });

  it('answers 404 for the fault API when fault injection is disabled, even with the admin token', async () => {
    const calm = await startInventory(pg.url, { adminToken: 'test-token-123' });
    try {
      const res = await request(calm.app)
        .get('/admin/faults')
        .set('x-admin-token', 'test-token-123')
        .expect(404);
      expect(res.body.detail).toContain('fault injection is disabled');
    } finally {
      await calm.close();
    }
  });
});
