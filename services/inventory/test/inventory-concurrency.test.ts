import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { inventoryMigrations } from '../src/migrations.ts';
import { counterValue, orderId, snapshot, startInventory, type TestInventory } from './support.ts';

// Two replicas of the service on one database, each with its own pool and listening socket.
let pg: RunningPostgres;
const replicas: TestInventory[] = [];
const servers: Server[] = [];
const urls: string[] = [];

async function listen(inventory: TestInventory): Promise<string> {
  const server = createServer(inventory.app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  // Three replicas starting together migrate and seed the same fresh database.
  replicas.push(...(await Promise.all([1, 2, 3].map(() => startInventory(pg.url)))));
  for (const replica of replicas.slice(0, 2)) urls.push(await listen(replica));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(replicas.map((r) => r.close()));
  await pg?.stop();
});

const pool = () => replicas[0]!.pool;
const url = (i: number) => urls[i % urls.length]!;

async function setStock(productId: string, stock: number): Promise<void> {
  await request(url(0)).put(`/products/${productId}/stock`).send({ stock }).expect(200);
}

async function totalCounter(outcome: string): Promise<number> {
  const values = await Promise.all(
    replicas.map((r) => counterValue(r.registry, 'inventory_reservations_total', { outcome })),
  );
  return values.reduce((a, b) => a + b, 0);
}

describe('concurrency across replicas', () => {
  it('seeds the catalogue once when replicas start together', async () => {
    const { rows } = await pool().query<{ n: string }>('SELECT count(*) AS n FROM inventory.products');
    expect(Number(rows[0]?.n)).toBe(12);
    const applied = await pool().query<{ n: string }>(
      'SELECT count(*) AS n FROM inventory.schema_migrations',
    );
    expect(Number(applied.rows[0]?.n)).toBe(inventoryMigrations.length);
  });

  it('never oversells: 100 concurrent reservations of 1 against a stock of 30 on two replicas', async () => {
    await setStock('p-001', 30);
    const reservedBefore = await totalCounter('reserved');
    const shortBefore = await totalCounter('insufficient_stock');
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(url(i))
          .post('/reservations')
          .send({ orderId: orderId('burst'), items: [{ productId: 'p-001', quantity: 1 }] }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(30);
    expect(statuses.filter((s) => s === 409)).toHaveLength(70);
    expect((await snapshot(pool())).stock['p-001']).toBe(0);
    expect(await totalCounter('reserved')).toBe(reservedBefore + 30);
    expect(await totalCounter('insufficient_stock')).toBe(shortBefore + 70);
  });

  it('reserves an order once when both replicas receive it concurrently', async () => {
    await setStock('p-002', 100);
    const id = orderId('twin');
    const body = { orderId: id, items: [{ productId: 'p-002', quantity: 7 }] };
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(url(i)).post('/reservations').send(body)),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect((await snapshot(pool())).stock['p-002']).toBe(93);
  });

  it('gives stock back once when both replicas release the same order concurrently', async () => {
    await setStock('p-003', 50);
    const id = orderId('rel');
    await request(url(0))
      .post('/reservations')
      .send({ orderId: id, items: [{ productId: 'p-003', quantity: 20 }] })
      .expect(201);
    const releasedBefore = await totalCounter('released');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => request(url(i)).delete(`/reservations/${id}`)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await snapshot(pool())).stock['p-003']).toBe(50);
    expect(await totalCounter('released')).toBe(releasedBefore + 1);
  });

  it('never leaks stock when a release races its own reservation', async () => {
    await setStock('p-004', 1_000);
    for (let round = 0; round < 20; round++) {
      const id = orderId('race');
      const [reserve, release] = await Promise.all([
        request(url(round))
          .post('/reservations')
          .send({ orderId: id, items: [{ productId: 'p-004', quantity: 5 }] }),
        request(url(round + 1)).delete(`/reservations/${id}`),
      ]);
      // Either the release saw the reservation (201 then 200), or it came first (404) and the
      // reservation was refused (409); the stock ends where it started in both cases.
      expect([`${reserve.status}/${release.status}`]).toEqual([
        expect.stringMatching(/^(201\/200|409\/404)$/),
      ]);
    }
    expect((await snapshot(pool())).stock['p-004']).toBe(1_000);
  });

  it('does not deadlock when orders lock the same products in opposite orders', async () => {
    await setStock('p-005', 1_000);
    await setStock('p-006', 1_000);
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        request(url(i))
          .post('/reservations')
          .send({
            orderId: orderId('cross'),
            items:
              i % 2 === 0
                ? [
                    { productId: 'p-005', quantity: 1 },
                    { productId: 'p-006', quantity: 2 },
                  ]
                : [
                    { productId: 'p-006', quantity: 2 },
                    { productId: 'p-005', quantity: 1 },
                  ],
          }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(60).fill(201));
    const { stock } = await snapshot(pool());
    expect(stock['p-005']).toBe(940);
    expect(stock['p-006']).toBe(880);
  });
});
