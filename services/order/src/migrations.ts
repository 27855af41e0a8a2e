import type { Logger } from 'pino';
import { migrate, type Migration, type Pool } from '@self-healing-shop/service-kit';

// Applied in the `orders` schema (search_path is set by migrate()). Times are written by the service
// from its injected clock, so that tests can drive backoff and the recovery sweeper.
export const migrations: readonly Migration[] = [
  {
    id: '001-create-orders',
    sql: `
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        idempotency_key text,
        request_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'failed', 'cancelled')),
        customer_email text NOT NULL,
        items jsonb NOT NULL,
        total_cents bigint,
        problem jsonb,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      -- A failed order (inventory unavailable, crash) frees its key so that the client's retry places the order anew.
      CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key)
        WHERE idempotency_key IS NOT NULL AND status <> 'failed';
      CREATE INDEX orders_pending ON orders (created_at) WHERE status = 'pending';

      CREATE TABLE outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        order_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('order-confirmation', 'release-reservation')),
        payload jsonb NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        -- Bumped when a delivered message is armed again, so that a delivery started before cannot mark it done.
        version integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        delivered_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL,
        UNIQUE (order_id, kind)
      );
      CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
    `,
  },
  {
    // The W3C traceparent of the request that wrote the message: its delivery's span links to it.
    // Nullable: rows written without tracing (or before this column) have none.
    id: '002-outbox-traceparent',
    sql: `ALTER TABLE outbox ADD COLUMN traceparent text;`,
  },
];

export const ORDER_SCHEMA = 'orders';

/** Creates the `orders` schema and tables; safe when several replicas start together. */
export function migrateOrders(pool: Pool, logger: Logger): Promise<void> {
  return migrate(pool, ORDER_SCHEMA, migrations, logger);
}
