import type { Logger } from 'pino';
import { migrate, type Migration, type Pool } from '@self-healing-shop/service-kit';

export const INVENTORY_SCHEMA = 'inventory';

/** Stock large enough that the load generator at 50 orders/s never runs out during a demo. */
export const INITIAL_STOCK = 1_000_000;

export const CATALOGUE: ReadonlyArray<{ id: string; name: string; priceCents: number }> = [
  { id: 'p-001', name: 'Espresso beans, 1 kg', priceCents: 2499 },
  { id: 'p-002', name: 'Ceramic pour-over dripper', priceCents: 3199 },
  { id: 'p-003', name: 'Paper filters, 100 pack', priceCents: 599 },
  { id: 'p-004', name: 'Conical burr grinder', priceCents: 12900 },
  { id: 'p-005', name: 'Gooseneck kettle', priceCents: 6900 },
  { id: 'p-006', name: 'Coffee scale with timer', priceCents: 2999 },
  { id: 'p-007', name: 'Milk frothing pitcher', priceCents: 1899 },
  { id: 'p-008', name: 'Insulated travel mug', priceCents: 2499 },
  { id: 'p-009', name: 'Cold brew bottle', priceCents: 2799 },
  { id: 'p-010', name: 'Tamper, 58 mm', priceCents: 3499 },
  { id: 'p-011', name: 'Knock box', priceCents: 2299 },
  { id: 'p-012', name: 'Cleaning tablets, 50 pack', priceCents: 1299 },
];

const seedValues = CATALOGUE.map(
  (p) => `('${p.id}', '${p.name.replace(/'/g, "''")}', ${p.priceCents}, ${INITIAL_STOCK})`,
);

export const inventoryMigrations: readonly Migration[] = [
  {
    id: '001-create-products-and-reservations',
    sql: `
      CREATE TABLE products (
        id text PRIMARY KEY,
        name text NOT NULL,
        price_cents integer NOT NULL CHECK (price_cents >= 0),
        stock integer NOT NULL CHECK (stock >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- One row per order id, never deleted: 'cancelled' is a tombstone left by a release that came
      -- before its reservation, so a late reservation cannot take stock the order gave up.
      CREATE TABLE reservations (
        order_id text PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('reserved', 'released', 'cancelled')),
        items jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        released_at timestamptz
      );`,
  },
  {
    id: '002-seed-catalogue',
    // Idempotent on its own too, in case products were inserted by hand before the migration ran.
    sql: `INSERT INTO products (id, name, price_cents, stock) VALUES ${seedValues.join(', ')} ON CONFLICT (id) DO NOTHING`,
  },
];

/** Creates the `inventory` schema and catalogue; safe when several replicas start together. */
export function migrateInventory(pool: Pool, logger: Logger): Promise<void> {
  return migrate(pool, INVENTORY_SCHEMA, inventoryMigrations, logger);
}
