import {
  createHttpClient,
  type DependencyPolicyDeps,
  type HttpClientOptions,
} from '@self-healing-shop/resilience';
import { createInventoryClient, type InventoryClient } from './inventory-client.ts';
import { createNotificationClient, type NotificationClient } from './notification-client.ts';

/** The policy of one dependency: its URL, timeouts, retry, breaker and bulkhead. */
export type DependencySettings = Omit<HttpClientOptions, 'dependency' | 'axios' | 'halfOpenProbe'>;

export interface DependencyClients {
  readonly inventory: InventoryClient;
  readonly notification: NotificationClient;
}

// Internal APIs never redirect and are never proxied: plain node:http instead of axios's
// follow-redirects wrapper and per-request proxy lookup, about a third of this process's CPU per order.
const AXIOS: HttpClientOptions['axios'] = { maxRedirects: 0, proxy: false };

/**
 * The order service's clients of inventory and notification, wired alike in main.ts and the tests:
 * each probes its own half-open circuit with `GET /ready`, so a replica without traffic of its own
 * still closes it (and leaves `degraded`) once the dependency is back.
 */
export function createDependencyClients(
  settings: { inventory: DependencySettings; notification: DependencySettings; probeIntervalMs?: number },
  deps: DependencyPolicyDeps,
): DependencyClients {
  const halfOpenProbe = {
    path: '/ready',
    ...(settings.probeIntervalMs === undefined ? {} : { intervalMs: settings.probeIntervalMs }),
  };
  const client = (dependency: string, options: DependencySettings) =>
    createHttpClient({ ...options, dependency, axios: AXIOS, halfOpenProbe }, deps);
  return {
    inventory: createInventoryClient(client('inventory', settings.inventory)),
    notification: createNotificationClient(client('notification', settings.notification)),
  };
}
