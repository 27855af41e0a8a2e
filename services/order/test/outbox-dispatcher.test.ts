import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { createHttpClient, createManualClock, type ManualClock } from '@self-healing-shop/resilience';
import { createPool, createServiceContext, type Pool } from '@self-healing-shop/service-kit';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { createInventoryClient, type InventoryClient } from '../src/inventory-client.ts';
import { migrateOrders } from '../src/migrations.ts';
import { createNotificationClient, type NotificationClient } from '../src/notification-client.ts';
import { OutboxDispatcher, type OutboxDispatcherOptions } from '../src/outbox/outbox-dispatcher.ts';
import { OutboxStore } from '../src/outbox/outbox-store.ts';
import { eventually, listen, type Listening } from './support.ts';

// The dispatcher against a small local endpoint standing in for notification (and inventory's DELETE).
const { logger, registry } = createServiceContext({
  service: 'order',
  logLevel: 'silent',
  defaultMetrics: false,
});
let pg: RunningPostgres;
let pool: Pool;
let endpoint: Listening;
let inventory: InventoryClient;
let notification: NotificationClient;
let received: Array<{
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}>;
let answer: { status: number; delayMs: number; gate?: Promise<void> };

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  pool = createPool({ connectionString: pg.url, logger, max: 10 });
  await migrateOrders(pool, logger);
  endpoint = await listen((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw ? JSON.parse(raw) : {},
      });
      const { status, delayMs, gate } = answer;
      void (gate ?? Promise.resolve()).then(() =>
        setTimeout(() => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end('{}');
        }, delayMs),
      );
    });
  });
  // Retries and circuit opening are the outbox's business here: one attempt, a breaker that does not trip.
  const policy = {
    baseURL: endpoint.url,
    retry: false as const,
    circuitBreaker: { failureDetector: { kind: 'consecutive' as const, failures: 1000 } },
  };
  inventory = createInventoryClient(
    createHttpClient({ ...policy, dependency: 'inventory' }, { registry, logger }),
  );
  notification = createNotificationClient(
    createHttpClient({ ...policy, dependency: 'notification' }, { registry, logger }),
  );
});

afterAll(async () => {
  inventory?.dispose();
  notification?.dispose();
  await endpoint?.stop();
  await pool?.end();
  await pg?.stop();
});

let clock: ManualClock;
beforeEach(async () => {
  received = [];
  answer = { status: 201, delayMs: 0 };
  clock = createManualClock(Date.parse('2030-01-01T00:00:00Z'));
  await pool.query('TRUNCATE orders.outbox');
});

function dispatcher(options: Partial<OutboxDispatcherOptions> = {}, store = new OutboxStore(pool)) {
  return new OutboxDispatcher({
    outbox: store,
    inventory,
    notification,
    logger,
    clock,
    random: () => 1,
    options: { initialBackoffMs: 500, maxBackoffMs: 4_000, leaseMs: 10_000, ...options },
  });
}

async function enqueue(count: number, kind = 'order-confirmation'): Promise<string[]> {
  const ids = Array.from({ length: count }, () => crypto.randomUUID());
  await pool.query(
    `INSERT INTO orders.outbox (order_id, kind, payload, next_attempt_at, created_at)
     SELECT id, $2, jsonb_build_object('recipient', 'ada@example.com', 'orderId', id), $3, $3 FROM unnest($1::uuid[]) AS id`,
    [ids, kind, new Date(clock.now())],
  );
  return ids;
}

async function row(orderId: string) {
  const { rows } = await pool.query<{ attempts: number; next_attempt_at: Date; delivered_at: Date | null }>(
    'SELECT attempts, next_attempt_at, delivered_at FROM orders.outbox WHERE order_id = $1',
    [orderId],
  );
  return rows[0];
}

describe('outbox dispatcher', () => {
  it('delivers a confirmation with the contract body and an idempotency key, then marks it delivered', async () => {
    const [orderId] = await enqueue(1);
    expect(await dispatcher().runOnce()).toBe(1);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      method: 'POST',
      url: '/notifications',
      body: {
        orderId,
        kind: 'order-confirmation',
        channel: 'email',
        recipient: 'ada@example.com',
        payload: { orderId, recipient: 'ada@example.com' },
      },
    });
    expect(received[0]?.headers['idempotency-key']).toBe(`order-confirmation:${orderId}`);
    expect((await row(orderId!))?.delivered_at).toEqual(new Date(clock.now()));
    expect(await dispatcher().runOnce()).toBe(0);
  });

  it('delivers a release as DELETE /reservations/:orderId, a 404 counting as done', async () => {
    const [orderId] = await enqueue(1, 'release-reservation');
    answer = { status: 404, delayMs: 0 };
    expect(await dispatcher().runOnce()).toBe(1);
    expect(received[0]).toMatchObject({ method: 'DELETE', url: `/reservations/${orderId}` });
    expect((await row(orderId!))?.delivered_at).not.toBeNull();
  });

  it('retries a failed delivery with exponential backoff per row until it succeeds', async () => {
    const [orderId] = await enqueue(1);
    const d = dispatcher();
    answer = { status: 503, delayMs: 0 };
    const start = clock.now();
    expect(await d.runOnce()).toBe(1);
    expect(await row(orderId!)).toMatchObject({
      attempts: 1,
      delivered_at: null,
      next_attempt_at: new Date(start + 500),
    });
    clock.advance(499);
    expect(await d.runOnce()).toBe(0);
    clock.advance(1);
    expect(await d.runOnce()).toBe(1);
    expect(await row(orderId!)).toMatchObject({ attempts: 2, next_attempt_at: new Date(start + 500 + 1000) });
    clock.advance(1000);
    await d.runOnce();
    clock.advance(2000);
    await d.runOnce();
    // Capped at maxBackoffMs.
    expect((await row(orderId!))?.next_attempt_at).toEqual(new Date(clock.now() + 4000));
    answer = { status: 201, delayMs: 0 };
    clock.advance(4000);
    expect(await d.runOnce()).toBe(1);
    expect(await row(orderId!)).toMatchObject({ attempts: 5, delivered_at: new Date(clock.now()) });
    expect(received).toHaveLength(5);
  });

  it('never lets two replicas deliver the same row at once', async () => {
    const orderIds = await enqueue(120);
    answer = { status: 201, delayMs: 15 };
    const pool2 = createPool({ connectionString: pg.url, logger, max: 5 });
    try {
      const a = dispatcher({ batchSize: 20 });
      const b = dispatcher({ batchSize: 20 }, new OutboxStore(pool2));
      const drain = async (d: OutboxDispatcher) => {
        while ((await d.runOnce()) > 0);
      };
      await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
    } finally {
      await pool2.end();
    }
    const perOrder = new Map<string, number>();
    for (const r of received)
      perOrder.set(String(r.body.orderId), (perOrder.get(String(r.body.orderId)) ?? 0) + 1);
    expect(perOrder.size).toBe(120);
    expect([...perOrder.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(orderIds)).toEqual(new Set(perOrder.keys()));
  });

  it('takes over a row claimed by a replica that died, once its lease expires', async () => {
    const [orderId] = await enqueue(1);
    // A replica claims the row and dies before delivering it.
    const claimed = await new OutboxStore(pool).claimDue(
      new Date(clock.now()),
      new Date(clock.now() + 10_000),
      10,
      ['order-confirmation'],
    );
    expect(claimed).toHaveLength(1);
    const survivor = dispatcher();
    expect(await survivor.runOnce()).toBe(0);
    clock.advance(10_000);
    expect(await survivor.runOnce()).toBe(1);
    expect(received).toHaveLength(1);
    expect(await row(orderId!)).toMatchObject({ attempts: 2 });
  });

  it('does not mark a release delivered when it was armed again during the delivery', async () => {
    const [orderId] = await enqueue(1, 'release-reservation');
    // Inventory answers only once the row was armed again: the delivery is in flight meanwhile.
    let open = () => {};
    answer = { status: 200, delayMs: 0, gate: new Promise<void>((resolve) => (open = resolve)) };
    const round = dispatcher().runOnce();
    await eventually('delivery under way', () => received.length === 1);
    const armed = await pool.query(
      `UPDATE orders.outbox SET delivered_at = NULL, next_attempt_at = $2, version = version + 1
        WHERE order_id = $1 AND delivered_at IS NULL`,
      [orderId, new Date(clock.now())],
    );
    // Armed again while undelivered, that is, within the delivery window.
    expect(armed.rowCount).toBe(1);
    open();
    await round;
    expect((await row(orderId!))?.delivered_at).toBeNull();
    answer = { status: 200, delayMs: 0 };
    expect(await dispatcher().runOnce()).toBe(1);
    expect((await row(orderId!))?.delivered_at).not.toBeNull();
  });

  it('runs a round as soon as it is woken instead of waiting for the poll', async () => {
    const d = new OutboxDispatcher({
      outbox: new OutboxStore(pool),
      inventory,
      notification,
      logger,
      options: { pollIntervalMs: 60_000 },
    });
    const insert = async (count: number) => {
      const ids = Array.from({ length: count }, () => crypto.randomUUID());
      await pool.query(
        `INSERT INTO orders.outbox (order_id, kind, payload, next_attempt_at, created_at)
         SELECT id, 'order-confirmation', '{"recipient":"a@b.c"}', $2, $2 FROM unnest($1::uuid[]) AS id`,
        [ids, new Date(Date.now() - 1)],
      );
    };
    await insert(1);
    d.start();
    try {
      // The first round delivers the row present at start; then the dispatcher sleeps for a minute.
      await eventually('first round', () => received.length === 1);
      await insert(3);
      d.wake();
      await eventually('woken delivery', () => received.length === 4, 2_000);
    } finally {
      await d.stop();
    }
  });
});
