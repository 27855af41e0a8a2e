import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { databaseOutage, onRestartablePostgres } from '@self-healing-shop/service-kit/testing';
import { orderId, startInventory, type TestInventory } from './support.ts';

let setup: Awaited<ReturnType<typeof onRestartablePostgres<TestInventory>>>;

beforeAll(async () => {
  setup = await onRestartablePostgres(startInventory);
});

afterAll(async () => {
  await setup?.dispose();
});

describe('database restart', () => {
  it('turns unready while the database is down and recovers without a restart of its own', async () => {
    const { app } = setup.replica;
    const reserve = (id: string) =>
      request(app)
        .post('/reservations')
        .send({ orderId: id, items: [{ productId: 'p-001', quantity: 1 }] });
    await reserve(orderId()).expect(201);

    await databaseOutage(
      setup.pg,
      async () => (await request(app).get('/ready')).status,
      async () => {
        const ready = await request(app).get('/ready').expect(503);
        expect(ready.body.status).toBe('unhealthy');
        expect(ready.body.checks).toEqual([
          expect.objectContaining({ name: 'database', status: 'unhealthy' }),
        ]);
        await request(app).get('/health').expect(200);

        // Requests fail fast with a retryable 503, never a 500.
        const down = await reserve(orderId()).expect(503);
        expect(down.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(down.headers['retry-after']).toBe('1');
        expect(down.body).toMatchObject({ type: 'urn:problem:database-unavailable', status: 503 });
        await request(app).get('/products').expect(503);
      },
    );

    const id = orderId();
    await reserve(id).expect(201);
    // The data survived the restart.
    const product = await request(app).get('/products/p-001').expect(200);
    expect(product.body.stock).toBe(1_000_000 - 2);
    await request(app).delete(`/reservations/${id}`).expect(200);
  });
});
