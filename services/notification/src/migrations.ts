import type { Logger } from 'pino';
import { migrate, type Migration, type Pool } from '@self-healing-shop/service-kit';

export const NOTIFICATION_SCHEMA = 'notification';

export const notificationMigrations: readonly Migration[] = [
  {
    id: '001-create-notifications',
    sql: `
      CREATE TABLE notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        -- Insertion order, for stable newest-first paging.
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        order_id text NOT NULL,
        kind text NOT NULL,
        channel text NOT NULL,
        recipient text NOT NULL,
        payload jsonb NOT NULL DEFAULT '{}',
        status text NOT NULL CHECK (status IN ('sent')),
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        -- One notification of each kind per order, whatever the number of replicas and retries.
        CONSTRAINT notifications_order_kind UNIQUE (order_id, kind)
      );`,
  },
];

/** Creates the `notification` schema; safe when several replicas start together. */
export function migrateNotification(pool: Pool, logger: Logger): Promise<void> {
  return migrate(pool, NOTIFICATION_SCHEMA, notificationMigrations, logger);
}
