import type { Logger, LevelWithSilent } from 'pino';
import { Registry } from 'prom-client';
import { createFaultInjection } from '@self-healing-shop/fault-injection';
import { HealthRegistry } from '@self-healing-shop/resilience';
import { createLogger } from './logger.ts';
import { collectNodeMetrics } from './node-metrics.ts';

export interface ServiceContextOptions {
  readonly service: string;
  readonly logLevel?: LevelWithSilent;
  readonly pod?: string;
  /** FAULT_INJECTION_ENABLED: whether `/admin/faults` and the fault middleware are live. */
  readonly faultInjection?: { readonly enabled: boolean };
  /** ADMIN_TOKEN: guards every `/admin/*` route; without it the admin API answers 403. */
  readonly adminToken?: string | undefined;
  /** Defaults to stdout; tests pass a stream. */
  readonly logDestination?: NodeJS.WritableStream;
  /** Default Node metrics (true in main.ts; tests may skip them). */
  readonly defaultMetrics?: boolean;
}

export type FaultInjection = ReturnType<typeof createFaultInjection>;

export interface ServiceContext {
  readonly service: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  readonly faults: FaultInjection;
  readonly adminToken: string | undefined;
}

/** The logger, metrics registry, health registry, fault injection and admin token every service starts with. */
export function createServiceContext(options: ServiceContextOptions): ServiceContext {
  const logger = createLogger({
    service: options.service,
    ...(options.logLevel ? { level: options.logLevel } : {}),
    ...(options.pod ? { pod: options.pod } : {}),
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectNodeMetrics(registry);
  const health = new HealthRegistry({ logger, registry });
  const faults = createFaultInjection({
    enabled: options.faultInjection?.enabled ?? false,
    registry,
    logger,
  });
  return { service: options.service, logger, registry, health, faults, adminToken: options.adminToken };
}
