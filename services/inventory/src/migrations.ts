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
  {
    id: '003-reserve-and-release-functions',
    // One round trip per reservation or release instead of a transaction of four to six statements.
    // Same steps and lock order as before: the reservation key first (a concurrent duplicate waits on it),
    // then the product rows in id order (no deadlocks). A rejection raises SQLSTATE IV409 with the
    // unknown or short items as JSON in DETAIL, so the whole statement, reservation row included, rolls back.
    sql: `
      CREATE FUNCTION reserve(p_order_id text, p_product_ids text[], p_quantities integer[], p_items jsonb)
        RETURNS TABLE (outcome text, order_id text, status text, items jsonb, created_at timestamptz, released_at timestamptz)
        LANGUAGE plpgsql AS $fn$
      #variable_conflict use_column
      DECLARE
        r inventory.reservations%ROWTYPE;
        problems jsonb;
      BEGIN
        INSERT INTO inventory.reservations AS x (order_id, status, items) VALUES (p_order_id, 'reserved', p_items)
          ON CONFLICT (order_id) DO NOTHING RETURNING x.* INTO r;
        IF NOT FOUND THEN
          -- Waited on the key until the other request committed: its row is visible to this statement.
          SELECT x.* INTO r FROM inventory.reservations x WHERE x.order_id = p_order_id;
          RETURN QUERY SELECT 'duplicate', r.order_id, r.status, r.items, r.created_at, r.released_at;
          RETURN;
        END IF;
        PERFORM 1 FROM inventory.products p WHERE p.id = ANY(p_product_ids) ORDER BY p.id FOR UPDATE;
        SELECT jsonb_agg(jsonb_build_object('index', v.i - 1, 'productId', v.id, 'quantity', v.qty, 'stock', p.stock) ORDER BY v.i)
          INTO problems
          FROM unnest(p_product_ids, p_quantities) WITH ORDINALITY AS v(id, qty, i)
          LEFT JOIN inventory.products p ON p.id = v.id
          WHERE p.id IS NULL OR p.stock < v.qty;
        IF problems IS NOT NULL THEN
          RAISE EXCEPTION 'reservation of % rejected', p_order_id USING ERRCODE = 'IV409', DETAIL = problems::text;
        END IF;
        UPDATE inventory.products p SET stock = p.stock - v.qty, updated_at = now()
          FROM unnest(p_product_ids, p_quantities) AS v(id, qty) WHERE p.id = v.id;
        RETURN QUERY SELECT 'reserved', r.order_id, r.status, r.items, r.created_at, r.released_at;
      END
      $fn$;

      CREATE FUNCTION release(p_order_id text)
        RETURNS TABLE (outcome text, order_id text, status text, items jsonb, created_at timestamptz, released_at timestamptz)
        LANGUAGE plpgsql AS $fn$
      #variable_conflict use_column
      DECLARE
        r inventory.reservations%ROWTYPE;
      BEGIN
        INSERT INTO inventory.reservations AS x (order_id, status, items, released_at) VALUES (p_order_id, 'cancelled', '[]', now())
          ON CONFLICT (order_id) DO NOTHING;
        IF FOUND THEN
          RETURN QUERY SELECT 'unknown', p_order_id, 'cancelled', '[]'::jsonb, now(), now();
          RETURN;
        END IF;
        -- Two concurrent releases: the second waits for the row lock, then sees 'released' and skips.
        UPDATE inventory.reservations x SET status = 'released', released_at = now()
          WHERE x.order_id = p_order_id AND x.status = 'reserved' RETURNING x.* INTO r;
        IF FOUND THEN
          PERFORM 1 FROM inventory.products p
            WHERE p.id IN (SELECT i->>'productId' FROM jsonb_array_elements(r.items) AS i) ORDER BY p.id FOR UPDATE;
          UPDATE inventory.products p SET stock = p.stock + (i->>'quantity')::integer, updated_at = now()
            FROM jsonb_array_elements(r.items) AS i WHERE p.id = i->>'productId';
          RETURN QUERY SELECT 'released', r.order_id, r.status, r.items, r.created_at, r.released_at;
          RETURN;
        END IF;
        SELECT x.* INTO r FROM inventory.reservations x WHERE x.order_id = p_order_id;
        RETURN QUERY SELECT CASE WHEN r.status = 'released' THEN 'already-released' ELSE 'unknown' END,
          r.order_id, r.status, r.items, r.created_at, r.released_at;
      END
      $fn$;`,
  },
  {
    id: '004-received-units',
    // Every unit a product ever received (the seed, restocks, corrections): what stock conservation is
    // checked against, receivedUnits = stock + units of its reservations still held. A database
    // migrated before gets today's balance as its starting point.
    sql: `
      ALTER TABLE products ADD COLUMN received_units bigint NOT NULL DEFAULT 0;
      UPDATE products p SET received_units = p.stock + coalesce((
        SELECT sum((i->>'quantity')::bigint) FROM reservations r, jsonb_array_elements(r.items) i
        WHERE r.status = 'reserved' AND i->>'productId' = p.id), 0);`,
  },
];

/** Creates the `inventory` schema and catalogue; safe when several replicas start together. */
export function migrateInventory(pool: Pool, logger: Logger): Promise<void> {
  return migrate(pool, INVENTORY_SCHEMA, inventoryMigrations, logger);
}
