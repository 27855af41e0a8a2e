import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import type { Clock, HttpClientOptions } from '@self-healing-shop/resilience';
import {
  createPool,
  createServiceContext,
  databaseHealthCheck,
  type Pool,
} from '@self-healing-shop/service-kit';
import { startTestReplica } from '@self-healing-shop/service-kit/testing';
import { createApp as createInventoryApp, migrateInventory } from '@self-healing-shop/inventory';
import { createApp as createNotificationApp, migrateNotification } from '@self-healing-shop/notification';
import { createApp, type OrderApp, type OrderAppOptions } from '../src/app.ts';
import { createDependencyClients } from '../src/dependency-clients.ts';
import type { InventoryClient } from '../src/inventory-client.ts';
import { migrateOrders } from '../src/migrations.ts';
import type { NotificationClient } from '../src/notification-client.ts';

/** An HTTP server on 127.0.0.1 that can be stopped and started again on the same port (an outage). */
export interface Listening {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function listen(app: RequestListener, port = 0): Promise<Listening> {
  let server: Server | undefined;
  let current = port;
  const start = async () => {
    const s = createServer(app);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(current, '127.0.0.1', () => resolve());
    });
    current = (s.address() as AddressInfo).port;
    server = s;
  };
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${current}`;
    },
    get port() {
      return current;
    },
    start,
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    },
  };
}

export interface Service {
  readonly http: Listening;
  readonly pool: Pool;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** One replica of `service` in-process on 127.0.0.1, port 0, with its own pool and registry. */
async function startListening(
  service: string,
  dbUrl: string,
  parts: Parameters<typeof startTestReplica<RequestListener>>[2],
): Promise<Service> {
  const replica = await startTestReplica(service, dbUrl, parts);
  const http = await listen(replica.app);
  return {
    http,
    pool: replica.pool,
    registry: replica.registry,
    async close() {
      await http.stop();
      await replica.close();
    },
  };
}

/** One inventory replica in-process on 127.0.0.1, port 0, with its own pool and registry. */
export function startInventory(dbUrl: string): Promise<Service> {
  return startListening('inventory', dbUrl, { migrate: migrateInventory, build: createInventoryApp });
}

export function startNotification(dbUrl: string): Promise<Service> {
  return startListening('notification', dbUrl, {
    migrate: migrateNotification,
    build: createNotificationApp,
  });
}

/** Short timings so that circuits open and close within a test. */
export const TEST_POLICY: Omit<HttpClientOptions, 'dependency' | 'baseURL'> = {
  // Generous: 200 orders racing on a busy 2-core machine must not time out.
  timeoutMs: 5_000,
  deadlineMs: 10_000,
  retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 },
  circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 5 }, coolDownMs: 400 },
  bulkhead: { maxConcurrent: 64, maxQueue: 512 },
};

export interface OrderReplica extends OrderApp {
  readonly http: Listening;
  readonly pool: Pool;
  readonly registry: Registry;
  readonly inventory: InventoryClient;
  readonly notification: NotificationClient;
  close(): Promise<void>;
}

export interface OrderReplicaOptions {
  readonly inventoryUrl: string;
  readonly notificationUrl: string;
  readonly app?: OrderAppOptions;
  readonly policy?: Omit<HttpClientOptions, 'dependency' | 'baseURL'>;
  readonly clock?: Clock;
  /** Start the dispatcher and sweeper (default true). */
  readonly workers?: boolean;
  /** ADMIN_TOKEN of the replica (its audit and fault API). */
  readonly adminToken?: string;
  /** prom-client's default Node metrics (default false). */
  readonly defaultMetrics?: boolean;
}

/** One order replica in-process, wired like main.ts but with test timings. */
export async function startOrder(dbUrl: string, options: OrderReplicaOptions): Promise<OrderReplica> {
  const { logger, registry, health } = createServiceContext({
    service: 'order',
    logLevel: 'silent',
    defaultMetrics: options.defaultMetrics ?? false,
  });
  const pool = createPool({ connectionString: dbUrl, logger, application: 'order-test', max: 20 });
  await migrateOrders(pool, logger);
  health.register(databaseHealthCheck(pool));
  const policy = options.policy ?? TEST_POLICY;
  const deps = { registry, logger, ...(options.clock ? { clock: options.clock } : {}) };
  const { inventory, notification } = createDependencyClients(
    {
      inventory: { ...policy, baseURL: options.inventoryUrl },
      notification: { ...policy, baseURL: options.notificationUrl },
      probeIntervalMs: 50,
    },
    deps,
  );
  const order = createApp({
    pool,
    logger,
    registry,
    health,
    inventory,
    notification,
    adminToken: options.adminToken,
    ...(options.clock ? { clock: options.clock } : {}),
    options: { dispatcher: { pollIntervalMs: 100, initialBackoffMs: 50, maxBackoffMs: 400 }, ...options.app },
  });
  if (options.workers !== false) order.startWorkers();
  const http = await listen(order.app);
  return {
    ...order,
    http,
    pool,
    registry,
    inventory,
    notification,
    async close() {
      await http.stop();
      await order.stopWorkers();
      inventory.dispose();
      notification.dispose();
      await pool.end();
    },
  };
}

/** Sets a product's stock as a restock does: the difference counts as units received. */
export async function setStock(inventory: Service, productId: string, stock: number): Promise<void> {
  await inventory.pool.query(
    'UPDATE inventory.products SET received_units = received_units + ($2 - stock), stock = $2 WHERE id = $1',
    [productId, stock],
  );
}

/** The status of the reservation inventory holds for an order (undefined when it has none). */
export async function reservationOf(pool: Pool, orderId: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ status: string }>(
    'SELECT status FROM inventory.reservations WHERE order_id = $1',
    [orderId],
  );
  return rows[0]?.status;
}

/** Units reserved and still held (status `reserved`) for orders that are not confirmed: leaked stock. */
export async function leakedUnits(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT coalesce(sum((i->>'quantity')::int), 0)::int AS n
       FROM inventory.reservations r CROSS JOIN jsonb_array_elements(r.items) i
       LEFT JOIN orders.orders o ON o.id::text = r.order_id
      WHERE r.status = 'reserved' AND o.status IS DISTINCT FROM 'confirmed' AND o.status IS DISTINCT FROM 'pending'`,
  );
  return rows[0]?.n ?? Number.NaN;
}

export interface Platform {
  readonly pg: RunningPostgres;
  readonly inventory: Service;
  readonly notification: Service;
  /** The order replica started with the platform (test timings). */
  readonly order: OrderReplica;
  close(): Promise<void>;
}

/** PostgreSQL, inventory, notification and one order replica: the setup the order tests share. */
export async function startPlatform(
  options: Omit<OrderReplicaOptions, 'inventoryUrl' | 'notificationUrl'> = {},
): Promise<Platform> {
  const pg = await startEmbeddedPostgres();
  const [inventory, notification] = await Promise.all([startInventory(pg.url), startNotification(pg.url)]);
  const order = await startOrder(pg.url, {
    ...options,
    inventoryUrl: inventory.http.url,
    notificationUrl: notification.http.url,
  });
  return {
    pg,
    inventory,
    notification,
    order,
    async close() {
      await order.close();
      await Promise.all([inventory.close(), notification.close()]);
      await pg.stop();
    },
  };
}

/**
 * What a POST /reservations meets on its way to inventory: `pass`; `drop-answer` (inventory reserves,
 * the answer never comes back: the caller times out); `reset` (inventory reserves, then the connection
 * is reset); `hold` (the request waits in the network until `deliverHeld()`, a late reservation).
 */
export type ReservationPath = 'pass' | 'drop-answer' | 'reset' | 'hold';

export interface FaultyNetwork extends Listening {
  path: ReservationPath;
  /** POST /reservations that reached inventory. */
  readonly forwarded: number;
  /** Sends the held reservations to inventory now; resolves with inventory's answers. */
  deliverHeld(): Promise<number[]>;
}

/** A proxy in front of inventory that plants the network faults of ReservationPath. */
export async function startFaultyNetwork(inventoryUrl: string): Promise<FaultyNetwork> {
  const held: Array<{ url: string; body: string; headers: Record<string, string> }> = [];
  // Reservations on their way to inventory: a release waits for them, so that a planted "timed out
  // after inventory reserved" really reserved before the release arrives, however slow the machine.
  const inflight = new Set<Promise<unknown>>();
  let forwarded = 0;
  const forward = async (
    method: string,
    url: string,
    body: string | undefined,
    headers: Record<string, string>,
  ) =>
    fetch(`${inventoryUrl}${url}`, {
      method,
      headers,
      ...(body === undefined || body === '' ? {} : { body }),
    });
  const network = await listen((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const key = req.headers['idempotency-key'];
      if (typeof key === 'string') headers['idempotency-key'] = key;
      const reservation = req.method === 'POST' && req.url === '/reservations';
      const path = reservation ? proxy.path : 'pass';
      if (path === 'hold') {
        held.push({ url: req.url ?? '/', body, headers });
        return; // never answered: the caller times out
      }
      const before = req.method === 'DELETE' ? Promise.allSettled([...inflight]) : Promise.resolve();
      const sent = before.then(() => forward(req.method ?? 'GET', req.url ?? '/', body, headers));
      if (reservation) {
        inflight.add(sent);
        void sent.finally(() => inflight.delete(sent)).catch(() => undefined);
      }
      void sent.then(
        async (answer) => {
          if (reservation) forwarded += 1;
          if (path === 'reset') return void req.socket.destroy();
          if (path === 'drop-answer') return; // reserved, but the caller never hears of it
          const text = await answer.text();
          res.writeHead(answer.status, {
            'content-type': answer.headers.get('content-type') ?? 'application/json',
          });
          res.end(text);
        },
        () => req.socket.destroy(),
      );
    });
  });
  const proxy: FaultyNetwork = {
    path: 'pass',
    get url() {
      return network.url;
    },
    get port() {
      return network.port;
    },
    get forwarded() {
      return forwarded;
    },
    start: () => network.start(),
    stop: () => network.stop(),
    async deliverHeld() {
      const late = held.splice(0);
      const answers = await Promise.all(late.map((r) => forward('POST', r.url, r.body, r.headers)));
      forwarded += late.length;
      return answers.map((a) => a.status);
    },
  };
  return proxy;
}

export async function stockOf(pool: Pool, productId: string): Promise<number> {
  const { rows } = await pool.query<{ stock: number }>('SELECT stock FROM inventory.products WHERE id = $1', [
    productId,
  ]);
  return rows[0]?.stock ?? Number.NaN;
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

/** Polls `check` until it returns true or the deadline passes (then fails with `what`). */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function orderBody(items: Array<{ productId: string; quantity: number }>, email = 'ada@example.com') {
  return { customer: { email }, items };
}
