import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import {
  eventually,
  metricValue,
  orderBody,
  setStock,
  startInventory,
  startNotification,
  startOrder,
  stockOf,
  TEST_POLICY,
  type OrderReplica,
  type Service,
} from './support.ts';

// Two order replicas and two inventory replicas on one database, as in the cluster: each order
// replica talks to its own inventory replica; both share one notification service.
let pg: RunningPostgres;
let inventories: Service[];
let notification: Service;
let replicas: OrderReplica[];

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  const first = await startInventory(pg.url);
  const second = await startInventory(pg.url);
  inventories = [first, second];
  notification = await startNotification(pg.url);
  replicas = [];
  for (const inventory of inventories) {
    replicas.push(
      await startOrder(pg.url, {
        inventoryUrl: inventory.http.url,
        notificationUrl: notification.http.url,
        // 200 reservations queue on one product row; on a busy shared machine that can take seconds.
        policy: {
          ...TEST_POLICY,
          timeoutMs: 20_000,
          deadlineMs: 40_000,
          circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 5 }, coolDownMs: 1_500 },
        },
      }),
    );
  }
});

afterAll(async () => {
  for (const replica of replicas ?? []) await replica.close();
  for (const service of [...(inventories ?? []), notification]) await service?.close();
  await pg?.stop();
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

async function post(
  replica: OrderReplica,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${replica.http.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body: json, headers: res.headers } as Answer;
}

async function notificationsFor(orderId: string): Promise<number> {
  const res = await fetch(`${notification.http.url}/notifications?orderId=${orderId}`);
  return ((await res.json()) as { items: unknown[] }).items.length;
}

async function countOrders(where: string, values: unknown[] = []): Promise<number> {
  const { rows } = await replicas[0]!.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM orders.orders WHERE ${where}`,
    values,
  );
  return rows[0]?.n ?? -1;
}

async function undelivered(): Promise<number> {
  const { rows } = await replicas[0]!.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM orders.outbox WHERE delivered_at IS NULL',
  );
  return rows[0]?.n ?? -1;
}

describe('several replicas on one database', () => {
  it('confirms exactly the stock when 200 orders race for 50 units', async () => {
    await setStock(inventories[0]!, 'p-010', 50);
    const confirmedMetric = async () =>
      (await metricValue(replicas[0]!.registry, 'orders_total', { outcome: 'confirmed' })) +
      (await metricValue(replicas[1]!.registry, 'orders_total', { outcome: 'confirmed' }));
    const confirmedBefore = await confirmedMetric();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(
          replicas[i % 2]!,
          '/orders',
          orderBody([{ productId: 'p-010', quantity: 1 }], `race${i}@example.com`),
        ),
      ),
    );
    const byStatus = answers.reduce<Record<number, number>>(
      (acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }),
      {},
    );
    expect(byStatus).toEqual({ 201: 50, 409: 150 });
    expect(await stockOf(inventories[0]!.pool, 'p-010')).toBe(0);
    expect(await countOrders(`status = 'confirmed' AND items @> '[{"productId":"p-010"}]'`)).toBe(50);
    expect(await countOrders(`status = 'rejected' AND items @> '[{"productId":"p-010"}]'`)).toBe(150);
    expect((await confirmedMetric()) - confirmedBefore).toBe(50);
    for (const a of answers.filter((x) => x.status === 409)) expect(String(a.body.detail)).toContain('p-010');
  }, 60_000);

  it('places one order when the same Idempotency-Key reaches both replicas at once', async () => {
    await setStock(inventories[0]!, 'p-011', 100);
    const body = orderBody([{ productId: 'p-011', quantity: 7 }]);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post(replicas[i % 2]!, '/orders', body, { 'Idempotency-Key': 'same-key-1' }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.every((a) => a.body.status === 'confirmed')).toBe(true);
    expect(await stockOf(inventories[0]!.pool, 'p-011')).toBe(93);
    expect(await countOrders('idempotency_key = $1', ['same-key-1'])).toBe(1);
    await eventually(
      'confirmation delivered',
      async () => (await notificationsFor(String(answers[0]!.body.id))) === 1,
    );
  });

  it('confirms orders while notification is down and delivers each confirmation once it is back', async () => {
    await setStock(inventories[0]!, 'p-012', 1000);
    await notification.http.stop();
    const placed = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        post(replicas[i % 2]!, '/orders', orderBody([{ productId: 'p-012', quantity: 1 }])),
      ),
    );
    for (const res of placed) {
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('confirmed');
    }
    const ids = placed.map((res) => String(res.body.id));
    const statuses = placed.map((res) => (res.body.notification as { status: string }).status);
    expect(statuses.every((s) => s === 'queued')).toBe(true);
    // The circuit opened: confirmations are shed from the request path (degraded, still ready).
    for (const replica of replicas) {
      await eventually('notification circuit open', () => replica.notification.circuitState === 'open');
      expect(replica.degradation.isEnabled('send-confirmation')).toBe(false);
      const ready = await fetch(`${replica.http.url}/ready`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { status: string }).status).toBe('degraded');
    }
    expect(await undelivered()).toBeGreaterThanOrEqual(30);

    await notification.http.start();
    await eventually('every confirmation delivered', async () => (await undelivered()) === 0, 15_000);
    for (const id of ids) expect(await notificationsFor(id)).toBe(1);
    const shown = await fetch(`${replicas[0]!.http.url}/orders/${ids[0]}`);
    expect(((await shown.json()) as { notification: { status: string } }).notification.status).toBe('sent');
    await eventually('feature back on', () =>
      replicas.every((r) => r.degradation.isEnabled('send-confirmation')),
    );
  });

  it('answers fast 503s while inventory is down and recovers when it returns', async () => {
    await setStock(inventories[0]!, 'p-001', 1000);
    for (const inventory of inventories) await inventory.http.stop();
    const body = orderBody([{ productId: 'p-001', quantity: 1 }]);
    // The first failures open each replica's circuit.
    await eventually('both circuits open', async () => {
      await Promise.all(replicas.map((r) => post(r, '/orders', body)));
      return replicas.every((r) => r.inventory.circuitState === 'open');
    });
    const failedBefore = await countOrders(`status = 'failed'`);
    const timeouts = async () => {
      let n = 0;
      for (const r of replicas)
        n += await metricValue(r.registry, 'resilience_calls_total', {
          dependency: 'inventory',
          outcome: 'timeout',
        });
      return n;
    };
    const timeoutsBefore = await timeouts();
    const open: Answer[] = [];
    for (let i = 0; i < 20; i++) open.push(await post(replicas[i % 2]!, '/orders', body));
    for (const answer of open) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Refused without waiting for any timeout (20 s here): no call timed out meanwhile.
    expect(await timeouts()).toBe(timeoutsBefore);
    // Each refused order is recorded as failed (its key is free for a retry).
    expect(await countOrders(`status = 'failed'`)).toBe(failedBefore + 20);
    let rejectedOpen = 0;
    for (const r of replicas) {
      const opened = { dependency: 'inventory', from: 'closed', to: 'open' };
      expect(
        await metricValue(r.registry, 'resilience_circuit_transitions_total', opened),
      ).toBeGreaterThanOrEqual(1);
      rejectedOpen += await metricValue(r.registry, 'resilience_calls_total', {
        dependency: 'inventory',
        outcome: 'rejected_open',
      });
    }
    // Most were refused by the open circuit without a call (a few were half-open probes).
    expect(rejectedOpen).toBeGreaterThanOrEqual(10);
    const ready = await fetch(`${replicas[0]!.http.url}/ready`);
    expect(ready.status).toBe(200);

    for (const inventory of inventories) await inventory.http.start();
    await eventually('orders succeed again', async () => {
      const answers = await Promise.all(replicas.map((r) => post(r, '/orders', body)));
      return answers.every((a) => a.status === 201);
    });
    await eventually('circuits closed', async () => {
      await Promise.all(replicas.map((r) => post(r, '/orders', body)));
      return replicas.every((r) => r.inventory.circuitState === 'closed');
    });
    // Releases of the orders that may have reached inventory are delivered once it is back.
    await eventually('outbox drained', async () => (await undelivered()) === 0, 15_000);
    // p-001 holds exactly what the confirmed orders took.
    const { rows } = await replicas[0]!.pool.query<{ n: number }>(
      `SELECT coalesce(sum((i->>'quantity')::int), 0)::int AS n FROM orders.orders, jsonb_array_elements(items) i
        WHERE status = 'confirmed' AND i->>'productId' = 'p-001'`,
    );
    expect(await stockOf(inventories[0]!.pool, 'p-001')).toBe(1000 - (rows[0]?.n ?? 0));
  });
});
