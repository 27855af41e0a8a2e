import type { Express } from 'express';
import { systemClock, type Clock, type DegradationManager } from '@self-healing-shop/resilience';
import { createAppFromDeps, type ServiceAppDeps } from '@self-healing-shop/service-kit';
import { createOrderDegradation } from './degradation.ts';
import type { InventoryClient } from './inventory-client.ts';
import type { NotificationClient } from './notification-client.ts';
import { orderMetrics, registerOutboxPendingGauge } from './order-metrics.ts';
import { orderRoutes } from './order-routes.ts';
import { OrderService } from './order-service.ts';
import { OrderStore } from './order-store.ts';
import { OrderSweeper } from './outbox/order-sweeper.ts';
import { OutboxDispatcher } from './outbox/outbox-dispatcher.ts';
import { outboxSettings, type OutboxOverrides } from './outbox/outbox-settings.ts';
import { OutboxStore } from './outbox/outbox-store.ts';
import { auditRoutes } from './audit-routes.ts';

/** The outbox, inline confirmation and sweeper settings over their defaults (outbox/outbox-settings.ts). */
export type OrderAppOptions = OutboxOverrides;

export interface OrderAppDeps extends ServiceAppDeps {
  /** A pool on a database migrated with `migrateOrders`. */
  readonly pool: ServiceAppDeps['pool'];
  readonly inventory: InventoryClient;
  readonly notification: NotificationClient;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly options?: OrderAppOptions;
}

export interface OrderApp {
  readonly app: Express;
  readonly dispatcher: OutboxDispatcher;
  readonly sweeper: OrderSweeper;
  readonly degradation: DegradationManager;
  /** Starts the outbox dispatcher and the recovery sweeper (every replica runs both). */
  startWorkers(): void;
  /** Stops them, letting the deliveries under way finish and be recorded. */
  stopWorkers(): Promise<void>;
}

/**
 * The order service: HTTP app, outbox dispatcher and recovery sweeper, built from what it is given.
 * No I/O happens here; main.ts (or a test) listens and starts the workers.
 */
export function createApp(deps: OrderAppDeps): OrderApp {
  const { pool, logger, registry, health, inventory, notification } = deps;
  const clock = deps.clock ?? systemClock;
  const settings = outboxSettings(deps.options);
  const orders = new OrderStore(pool);
  const outbox = new OutboxStore(pool);
  const metrics = orderMetrics(registry);
  const degradation = createOrderDegradation({ registry, logger, inventory, notification });
  const dispatcher = new OutboxDispatcher({
    outbox,
    inventory,
    notification,
    logger,
    clock,
    ...(deps.random ? { random: deps.random } : {}),
    options: settings.dispatcher,
  });
  const sweeper = new OrderSweeper({
    orders,
    metrics,
    logger,
    clock,
    onReleases: () => dispatcher.wake(),
    options: settings.sweeper,
  });
  const service = new OrderService({
    orders,
    inventory,
    dispatcher,
    degradation,
    metrics,
    logger,
    clock,
    options: {
      inlineConfirmationBudgetMs: settings.inlineConfirmationBudgetMs,
      leaseMs: settings.dispatcher.leaseMs,
    },
  });

  registerOutboxPendingGauge(
    registry,
    () => outbox.countPending(),
    (error) => logger.debug({ err: error }, 'outbox_pending not refreshed'),
  );
  // The database check is registered by whoever owns the pool (launchService in main.ts).
  health.register(inventory.healthCheck());
  health.register(notification.healthCheck());

  const app = createAppFromDeps('order', deps, {
    audit: (router) => auditRoutes(router, { pool, pendingTimeoutMs: settings.sweeper.pendingTimeoutMs }),
    routes: (express) => orderRoutes(express, { service }),
  });

  return {
    app,
    dispatcher,
    sweeper,
    degradation,
    startWorkers() {
      dispatcher.start();
      sweeper.start();
    },
    async stopWorkers() {
      await Promise.all([dispatcher.stop(), sweeper.stop()]);
    },
  };
}
