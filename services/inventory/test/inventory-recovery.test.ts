import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  startRestartablePostgres,
  until,
  type RestartablePostgres,
} from '@self-healing-shop/service-kit/testing';
import { orderId, startInventory, type TestInventory } from './support.ts';

let pg: RestartablePostgres;
let inventory: TestInventory;

beforeAll(async () => {
  pg = await startRestartablePostgres();
  inventory = await startInventory(pg.url);
});

afterAll(async () => {
  await inventory?.close();
  await pg?.dispose();
});

const readyIs = (status: number) => async () =>
  (await request(inventory.app).get('/ready')).status === status;

describe('database restart', () => {
  it('turns unready while the database is down and recovers without a restart of its own', async () => {
    await request(inventory.app)
      .post('/reservations')
      .send({ orderId: orderId(), items: [{ productId: 'p-001', quantity: 1 }] })
      .expect(201);

    await pg.stop();
    await until('/ready 503', readyIs(503));
    const ready = await request(inventory.app).get('/ready').expect(503);
    expect(ready.body.status).toBe('unhealthy');
    expect(ready.body.checks).toEqual([expect.objectContaining({ name: 'database', status: 'unhealthy' })]);
    await request(inventory.app).get('/health').expect(200);

    // Requests fail fast with a retryable 503, never a 500.
    const down = await request(inventory.app)
      .post('/reservations')
      .send({ orderId: orderId(), items: [{ productId: 'p-001', quantity: 1 }] })
      .expect(503);
    expect(down.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(down.headers['retry-after']).toBe('1');
    expect(down.body).toMatchObject({ type: 'urn:problem:database-unavailable', status: 503 });
    await request(inventory.app).get('/products').expect(503);

    await pg.start();
    await until('/ready 200', readyIs(200));
    const id = orderId();
    await request(inventory.app)
      .post('/reservations')
      .send({ orderId: id, items: [{ productId: 'p-001', quantity: 1 }] })
      .expect(201);
    // The data survived the restart.
    const product = await request(inventory.app).get('/products/p-001').expect(200);
    expect(product.body.stock).toBe(1_000_000 - 2);
    await request(inventory.app).delete(`/reservations/${id}`).expect(200);
  });
});
