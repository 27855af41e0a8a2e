// Started by main.ts once tracing is set up: reads the environment, connects, migrates, listens and handles signals (through the kit).
import { launchService } from '@self-healing-shop/service-kit';
import { createApp } from './app.ts';
import { orderConfigShape } from './config.ts';
import { createDependencyClients, type DependencySettings } from './dependency-clients.ts';
import { migrateOrders } from './migrations.ts';
import { outboxSettingsFromConfig } from './outbox/outbox-settings.ts';

await launchService({
  service: 'order',
  configShape: orderConfigShape,
  migrate: (pool, { logger }) => migrateOrders(pool, logger),
  build: ({ config, pool, logger, registry, health, faults, adminToken }) => {
    const breaker: DependencySettings['circuitBreaker'] = {
      failureDetector: { kind: 'count', size: 20, failureRatePercent: 50, minimumCalls: 10 },
      coolDownMs: config.CIRCUIT_COOL_DOWN_MS,
    };
    const { inventory, notification } = createDependencyClients(
      {
        inventory: {
          baseURL: config.INVENTORY_URL,
          timeoutMs: config.INVENTORY_TIMEOUT_MS,
          deadlineMs: config.INVENTORY_DEADLINE_MS,
          // Safe: the reservation is idempotent on the order id and sent with an Idempotency-Key.
          retry: { maxAttempts: config.INVENTORY_MAX_ATTEMPTS, initialDelayMs: 50, maxDelayMs: 500 },
          circuitBreaker: breaker,
          bulkhead: {
            maxConcurrent: config.INVENTORY_MAX_CONCURRENT,
            maxQueue: config.INVENTORY_MAX_CONCURRENT * 4,
          },
        },
        notification: {
          baseURL: config.NOTIFICATION_URL,
          timeoutMs: config.NOTIFICATION_TIMEOUT_MS,
          deadlineMs: config.NOTIFICATION_TIMEOUT_MS * 2,
          // The outbox retries with its own backoff; one quick retry covers a reset keep-alive socket.
          retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
          circuitBreaker: breaker,
          bulkhead: {
            maxConcurrent: config.NOTIFICATION_MAX_CONCURRENT,
            maxQueue: config.NOTIFICATION_MAX_CONCURRENT * 4,
          },
        },
        grayFailure: {
          inventory: {
            hedgeMaxDelayMs: config.INVENTORY_HEDGE_MAX_DELAY_MS,
            minAttemptMs: config.INVENTORY_MIN_ATTEMPT_MS,
          },
          notification: {
            hedgeMaxDelayMs: config.NOTIFICATION_HEDGE_MAX_DELAY_MS,
            minAttemptMs: config.NOTIFICATION_MIN_ATTEMPT_MS,
          },
        },
      },
      { registry, logger },
    );
    const order = createApp({
      pool,
      logger,
      registry,
      health,
      faults,
      inventory,
      notification,
      adminToken,
      options: outboxSettingsFromConfig(config),
    });
    order.startWorkers();
    return {
      app: order.app,
      // Closed after the server drained, before the kit closes the pool.
      onClose: [
        { name: 'outbox dispatcher and sweeper', close: () => order.stopWorkers() },
        { name: 'inventory client', close: () => inventory.dispose() },
        { name: 'notification client', close: () => notification.dispose() },
      ],
    };
  },
});
