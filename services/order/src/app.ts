import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  systemClock,
  type Clock,
  type DegradationManager,
  type HealthRegistry,
} from '@self-healing-shop/resilience';
import { createServiceApp, type FaultInjection, type Pool } from '@self-healing-shop/service-kit';
import { createOrderDegradation } from './degradation.ts';
import type { InventoryClient } from './inventory-client.ts';
import type { NotificationClient } from './notification-client.ts';
import { orderMetrics, registerOutboxPendingGauge } from './order-metrics.ts';
import { orderRoutes } from './order-routes.ts';
import { OrderService } from './order-service.ts';
import { OrderStore } from './order-store.ts';
import { OrderSweeper, type OrderSweeperOptions } from './order-sweeper.ts';
import { OutboxDispatcher, type OutboxDispatcherOptions } from './outbox-dispatcher.ts';
import { OutboxStore } from './outbox-store.ts';

export interface OrderAppOptions {
  readonly dispatcher?: Partial<OutboxDispatcherOptions>;
  readonly sweeper?: Partial<OrderSweeperOptions>;
  /** How long POST /orders waits for its confirmation to be sent before answering `queued`; default 250. */
  readonly inlineConfirmationBudgetMs?: number;
}

export interface OrderAppDeps {
  /** A pool on a database migrated with `migrateOrders`. */
  readonly pool: Pool;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  readonly inventory: InventoryClient;
  readonly notification: NotificationClient;
  readonly faults?: FaultInjection;
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
    ...(deps.options?.dispatcher ? { options: deps.options.dispatcher } : {}),
  });
  const sweeper = new OrderSweeper({
    orders,
    metrics,
    logger,
    clock,
    onReleases: () => dispatcher.wake(),
    ...(deps.options?.sweeper ? { options: deps.options.sweeper } : {}),
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
      inlineConfirmationBudgetMs: deps.options?.inlineConfirmationBudgetMs ?? 250,
      leaseMs: dispatcher.options.leaseMs,
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

  const app = createServiceApp({
    service: 'order',
    logger,
    registry,
    health,
    ...(deps.faults ? { faultInjection: deps.faults } : {}),
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
