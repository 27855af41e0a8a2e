import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import {
  body,
  counterValue,
  countRows,
  orderId,
  sentLogs,
  startNotification,
  type TestNotification,
} from './support.ts';

// Two replicas on one database, each with its own pool, socket and logs.
let pg: RunningPostgres;
const replicas: TestNotification[] = [];
const servers: Server[] = [];
const urls: string[] = [];

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  // Replicas starting together migrate the same fresh database.
  replicas.push(...(await Promise.all([1, 2].map(() => startNotification(pg.url)))));
  for (const replica of replicas) {
    const server = createServer(replica.app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(replicas.map((r) => r.close()));
  await pg?.stop();
});

const url = (i: number) => urls[i % urls.length]!;
const total = async (outcome: string) =>
  (
    await Promise.all(
      replicas.map((r) => counterValue(r.registry, 'notifications_total', { outcome, channel: 'email' })),
    )
  ).reduce((a, b) => a + b, 0);

describe('concurrency across replicas', () => {
  it('records and sends exactly once when both replicas get the same notification concurrently', async () => {
    const id = orderId('twin');
    const rows = await countRows(replicas[0]!.pool);
    const [sent, duplicate] = [await total('sent'), await total('duplicate')];
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(url(i)).post('/notifications').send(body(id))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await countRows(replicas[0]!.pool)).toBe(rows + 1);
    expect(replicas.flatMap((r) => sentLogs(r, id))).toHaveLength(1);
    expect(await total('sent')).toBe(sent + 1);
    expect(await total('duplicate')).toBe(duplicate + 19);
  });

  it('sends each of 50 concurrent distinct notifications once', async () => {
    const ids = Array.from({ length: 50 }, () => orderId('many'));
    const responses = await Promise.all(
      ids.map((id, i) => request(url(i)).post('/notifications').send(body(id))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(201));
    for (const id of ids) expect(replicas.flatMap((r) => sentLogs(r, id))).toHaveLength(1);
  });
});
