import type { Logger, LevelWithSilent } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createFaultInjection } from '@self-healing-shop/fault-injection';
import { HealthRegistry } from '@self-healing-shop/resilience';
import { createLogger } from './logger.ts';

export interface ServiceContextOptions {
  readonly service: string;
  readonly logLevel?: LevelWithSilent;
  readonly pod?: string;
  readonly faultInjection?: { readonly enabled: boolean; readonly token?: string | undefined };
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
}

/** The logger, metrics registry, health registry and fault injection every service starts with. */
export function createServiceContext(options: ServiceContextOptions): ServiceContext {
  const logger = createLogger({
    service: options.service,
    ...(options.logLevel ? { level: options.logLevel } : {}),
    ...(options.pod ? { pod: options.pod } : {}),
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const health = new HealthRegistry({ logger, registry });
  const faults = createFaultInjection({
    enabled: options.faultInjection?.enabled ?? false,
    ...(options.faultInjection?.token ? { token: options.faultInjection.token } : {}),
    registry,
    logger,
  });
  return { service: options.service, logger, registry, health, faults };
}
