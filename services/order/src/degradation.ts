import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DegradationManager } from '@self-healing-shop/resilience';
import type { InventoryClient } from './inventory-client.ts';
import type { NotificationClient } from './notification-client.ts';
import { SEND_CONFIRMATION } from './order-service.ts';

/**
 * Degradation of the order service, driven by its dependencies' circuits. Notification's circuit open:
 * `degraded`, confirmations are no longer sent inline (they wait in the outbox, `queued`); orders go on.
 * Inventory's circuit open: `minimal`, no order can be placed (fast 503s).
 */
export function createOrderDegradation(deps: {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly inventory: InventoryClient;
  readonly notification: NotificationClient;
}): DegradationManager {
  const manager = new DegradationManager({
    service: 'order',
    features: [{ name: SEND_CONFIRMATION, priority: 3 }],
    signals: [
      { name: 'notification', whenFailing: 'degraded' },
      { name: 'inventory', whenFailing: 'minimal' },
    ],
    registry: deps.registry,
    logger: deps.logger,
  });
  // Half-open lets probes through but is not healthy yet: only a closed circuit counts as ok.
  const report = (name: 'inventory' | 'notification', state: string) =>
    manager.setSignal(name, state === 'closed');
  deps.inventory.onCircuitStateChange(({ to }) => report('inventory', to));
  deps.notification.onCircuitStateChange(({ to }) => report('notification', to));
  report('inventory', deps.inventory.circuitState);
  report('notification', deps.notification.circuitState);
  return manager;
}
