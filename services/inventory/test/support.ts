import type { Express } from 'express';
import type { Pool } from '@self-healing-shop/service-kit';
import {
  startTestReplica,
  type TestReplica,
  type TestReplicaOptions,
} from '@self-healing-shop/service-kit/testing';
import { createApp, migrateInventory } from '../src/app.ts';

export { counterValue, uniqueId as orderId } from '@self-healing-shop/service-kit/testing';

export type TestInventory = TestReplica<Express>;

/** One inventory replica in-process: its own pool, registry and health registry on `url`. */
export function startInventory(
  url: string,
  options: Omit<TestReplicaOptions, 'logLevel' | 'logDestination'> = {},
): Promise<TestInventory> {
  return startTestReplica('inventory', url, { migrate: migrateInventory, build: createApp }, options);
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
