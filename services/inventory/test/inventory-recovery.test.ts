import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { orderId, startInventory, type TestInventory } from './support.ts';

let dir: string;
let pg: RunningPostgres | undefined;
let inventory: TestInventory;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inventory-recovery-'));
  pg = await startEmbeddedPostgres({ dir });
  inventory = await startInventory(pg.url);
});

afterAll(async () => {
  await inventory?.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitForReady(expected: number, deadlineMs = 15_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await request(inventory.app).get('/ready')).status;
    if (last === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/ready stayed ${last}, expected ${expected}`);
}

describe('database restart', () => {
  it('turns unready while the database is down and recovers without a restart of its own', async () => {
    const port = pg!.port;
    await request(inventory.app)
      .post('/reservations')
      .send({ orderId: orderId(), items: [{ productId: 'p-001', quantity: 1 }] })
      .expect(201);

    await pg!.stop();
    pg = undefined;
    await waitForReady(503);
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
    expect(down.body).toMatchObject({ type: 'urn:problem:unavailable', status: 503 });
    await request(inventory.app).get('/products').expect(503);

    pg = await startEmbeddedPostgres({ dir, port });
    await waitForReady(200);
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
