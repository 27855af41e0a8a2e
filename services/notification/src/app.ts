import type { Express } from 'express';
import { createAppFromDeps, type ServiceAppDeps } from '@self-healing-shop/service-kit';
import { auditRoutes } from './audit-routes.ts';
import { createNotificationMetrics } from './metrics.ts';
import { createLogChannel, type NotificationChannel } from './notification-channel.ts';
import { notificationRoutes } from './notification-routes.ts';
import { NotificationStore } from './notification-store.ts';
import type { ChannelName } from './schemas.ts';

export { NOTIFICATION_SCHEMA, migrateNotification } from './migrations.ts';
export type { NotificationChannel } from './notification-channel.ts';

export interface NotificationAppDeps extends ServiceAppDeps {
  /** A pool on a database migrated with `migrateNotification`. */
  readonly pool: ServiceAppDeps['pool'];
  /** Delivery channels; email defaults to a structured log line on `logger`. */
  readonly channels?: Partial<Record<ChannelName, NotificationChannel>>;
}

/** The notification HTTP app; no I/O until requests arrive. */
export function createApp(deps: NotificationAppDeps): Express {
  const store = new NotificationStore(deps.pool);
  const metrics = createNotificationMetrics(deps.registry);
  const channels = { email: deps.channels?.email ?? createLogChannel(deps.logger) };
  return createAppFromDeps('notification', deps, {
    audit: (router) => auditRoutes(router, { pool: deps.pool }),
    routes: (app) => {
      notificationRoutes(app, { store, channels, metrics });
    },
  });
}
