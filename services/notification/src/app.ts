import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthRegistry } from '@self-healing-shop/resilience';
import { createServiceApp, type FaultInjection, type Pool } from '@self-healing-shop/service-kit';
import { auditRoutes } from './audit-routes.ts';
import { createNotificationMetrics } from './metrics.ts';
import { createLogChannel, type NotificationChannel } from './notification-channel.ts';
import { notificationRoutes } from './notification-routes.ts';
import { NotificationStore } from './notification-store.ts';
import type { ChannelName } from './schemas.ts';

export { NOTIFICATION_SCHEMA, migrateNotification } from './migrations.ts';
export type { NotificationChannel } from './notification-channel.ts';

export interface NotificationAppDeps {
  /** A pool on a database migrated with `migrateNotification`. */
  readonly pool: Pool;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  readonly faults?: FaultInjection;
  /** ADMIN_TOKEN: guards `/admin/*` (faults and audit). */
  readonly adminToken?: string | undefined;
  /** Delivery channels; email defaults to a structured log line on `logger`. */
  readonly channels?: Partial<Record<ChannelName, NotificationChannel>>;
}

/** The notification HTTP app; no I/O until requests arrive. */
export function createApp(deps: NotificationAppDeps): Express {
  const store = new NotificationStore(deps.pool);
  const metrics = createNotificationMetrics(deps.registry);
  const channels = { email: deps.channels?.email ?? createLogChannel(deps.logger) };
  return createServiceApp({
    service: 'notification',
    logger: deps.logger,
    registry: deps.registry,
    health: deps.health,
    ...(deps.faults ? { faultInjection: deps.faults } : {}),
    adminToken: deps.adminToken,
    audit: (router) => auditRoutes(router, { pool: deps.pool }),
    routes: (app) => {
      notificationRoutes(app, { store, channels, metrics });
    },
  });
}
