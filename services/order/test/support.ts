import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Clock, HttpClientOptions } from '@self-healing-shop/resilience';
import {
  createPool,
  createServiceContext,
  databaseHealthCheck,
  type Pool,
} from '@self-healing-shop/service-kit';
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

/** One inventory replica in-process on 127.0.0.1, port 0, with its own pool and registry. */
export async function startInventory(dbUrl: string): Promise<Service> {
  const { logger, registry, health, faults } = createServiceContext({
    service: 'inventory',
    logLevel: 'silent',
    defaultMetrics: false,
  });
  const pool = createPool({ connectionString: dbUrl, logger, application: 'inventory-test' });
  await migrateInventory(pool, logger);
  health.register(databaseHealthCheck(pool));
  const http = await listen(createInventoryApp({ pool, logger, registry, health }));
  return {
    http,
    pool,
    registry,
    async close() {
      await http.stop();
      faults.dispose();
      await pool.end();
    },
  };
}

export async function startNotification(dbUrl: string): Promise<Service> {
  const { logger, registry, health, faults } = createServiceContext({
    service: 'notification',
    logLevel: 'silent',
    defaultMetrics: false,
  });
  const pool = createPool({ connectionString: dbUrl, logger, application: 'notification-test' });
  await migrateNotification(pool, logger);
  health.register(databaseHealthCheck(pool));
  const http = await listen(createNotificationApp({ pool, logger, registry, health }));
  return {
    http,
    pool,
    registry,
    async close() {
      await http.stop();
      faults.dispose();
      await pool.end();
    },
  };
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
}

/** One order replica in-process, wired like main.ts but with test timings. */
export async function startOrder(dbUrl: string, options: OrderReplicaOptions): Promise<OrderReplica> {
  const { logger, registry, health } = createServiceContext({
    service: 'order',
    logLevel: 'silent',
    defaultMetrics: false,
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

export async function setStock(inventory: Service, productId: string, stock: number): Promise<void> {
  await inventory.pool.query('UPDATE inventory.products SET stock = $2 WHERE id = $1', [productId, stock]);
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
