import {
  createHttpClient,
  type DependencyPolicyDeps,
  type HttpClientOptions,
} from '@self-healing-shop/resilience';
import { createInventoryClient, type InventoryClient } from './inventory-client.ts';
import { createNotificationClient, type NotificationClient } from './notification-client.ts';

/** The policy of one dependency: its URL, timeouts, retry, breaker, bulkhead, hedging and concurrency limit. */
export type DependencySettings = Omit<HttpClientOptions, 'dependency' | 'axios' | 'halfOpenProbe'>;

/** Per-dependency knobs of the gray-failure policies (config.ts), applied by grayFailureSettings. */
export interface GrayFailureConfig {
  /** Upper bound of the hedge delay (the delay is the p95 of recent latency, from 25 ms up to this). */
  readonly hedgeMaxDelayMs: number;
  /** A retry starts only with at least this much of the call's deadline left. */
  readonly minAttemptMs: number;
}

export interface DependencyClients {
  readonly inventory: InventoryClient;
  readonly notification: NotificationClient;
}

// Internal APIs never redirect and are never proxied: plain node:http instead of axios's
// follow-redirects wrapper and per-request proxy lookup, about a third of this process's CPU per order.
const AXIOS: HttpClientOptions['axios'] = { maxRedirects: 0, proxy: false };

/**
 * Gray-failure policies (issue 9), on unless the settings say otherwise. Every call order makes is
 * idempotent (reserve and notify by key, release by order id), so all of them may be hedged: after the
 * p95 of recent latency (25 to 250 ms) a second attempt goes out on a fresh connection, which the Service
 * routes anew, and a replica that stopped answering costs a hedge delay instead of a timeout. An adaptive
 * concurrency limit under the bulkhead makes a burst of our own wait in our queue instead of timing out
 * at the dependency (and tripping the breaker for everyone).
 */
export function grayFailureSettings(
  settings: DependencySettings,
  config: GrayFailureConfig = { hedgeMaxDelayMs: 250, minAttemptMs: 100 },
): DependencySettings {
  const maxConcurrent = settings.bulkhead === false ? 64 : (settings.bulkhead?.maxConcurrent ?? 32);
  return {
    hedging: {
      maxHedgedAttempts: 2,
      percentile: 95,
      minDelayMs: Math.min(25, config.hedgeMaxDelayMs),
      maxDelayMs: config.hedgeMaxDelayMs,
    },
    concurrencyLimit: {
      initialLimit: Math.min(20, maxConcurrent),
      minLimit: Math.min(4, maxConcurrent),
      maxLimit: maxConcurrent,
    },
    ...settings,
    ...(settings.retry === undefined || settings.retry === false
      ? {}
      : { retry: { minAttemptMs: config.minAttemptMs, ...settings.retry } }),
  };
}

/**
 * The order service's clients of inventory and notification, wired alike in main.ts and the tests:
 * each probes its own half-open circuit with `GET /ready`, so a replica without traffic of its own
 * still closes it (and leaves `degraded`) once the dependency is back.
 */
export function createDependencyClients(
  settings: {
    inventory: DependencySettings;
    notification: DependencySettings;
    probeIntervalMs?: number;
    grayFailure?: { inventory?: GrayFailureConfig; notification?: GrayFailureConfig };
  },
  deps: DependencyPolicyDeps,
): DependencyClients {
  const halfOpenProbe = {
    path: '/ready',
    ...(settings.probeIntervalMs === undefined ? {} : { intervalMs: settings.probeIntervalMs }),
  };
  const client = (dependency: string, options: DependencySettings) =>
    createHttpClient({ ...options, dependency, axios: AXIOS, halfOpenProbe }, deps);
  return {
    inventory: createInventoryClient(
      client('inventory', grayFailureSettings(settings.inventory, settings.grayFailure?.inventory)),
    ),
    notification: createNotificationClient(
      client('notification', grayFailureSettings(settings.notification, settings.grayFailure?.notification)),
    ),
  };
}
