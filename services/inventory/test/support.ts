import type { Express } from 'express';
import type { Registry } from 'prom-client';
import {
  createPool,
  createServiceContext,
  databaseHealthCheck,
  type Pool,
} from '@self-healing-shop/service-kit';
import { createApp, migrateInventory } from '../src/app.ts';

export interface TestInventory {
  readonly app: Express;
  readonly pool: Pool;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** One inventory replica in-process: its own pool, registry and health registry on `url`. */
export async function startInventory(
  url: string,
  options: {
    migrate?: boolean;
    adminToken?: string;
    faultInjection?: boolean;
    defaultMetrics?: boolean;
  } = {},
): Promise<TestInventory> {
  const { logger, registry, health, faults } = createServiceContext({
    service: 'inventory',
    logLevel: 'silent',
    defaultMetrics: options.defaultMetrics ?? false,
    faultInjection: { enabled: options.faultInjection ?? false },
    adminToken: options.adminToken,
  });
  const pool = createPool({ connectionString: url, logger, application: 'inventory-test' });
  if (options.migrate !== false) await migrateInventory(pool, logger);
  health.register(databaseHealthCheck(pool));
  const app = createApp({ pool, logger, registry, health, faults, adminToken: options.adminToken });
  return {
    app,
    pool,
    registry,
    close: async () => {
      faults.dispose();
      await pool.end();
    },
  };
}

/** Every product's stock and the number of reservation rows: what a rejected request must not change. */
export async function snapshot(pool: Pool): Promise<{ stock: Record<string, number>; reservations: number }> {
  const products = await pool.query<{ id: string; stock: number }>(
    'SELECT id, stock FROM inventory.products ORDER BY id',
  );
  const reservations = await pool.query<{ n: string }>('SELECT count(*) AS n FROM inventory.reservations');
  return {
    stock: Object.fromEntries(products.rows.map((r) => [r.id, r.stock])),
    reservations: Number(reservations.rows[0]?.n),
  };
}

export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

let sequence = 0;
/** A fresh order id per call, unique across test files running at once. */
export function orderId(prefix = 'ord'): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`;
}
