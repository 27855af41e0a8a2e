import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthRegistry } from '@self-healing-shop/resilience';
import { createServiceApp, type FaultInjection, type Pool } from '@self-healing-shop/service-kit';
import { auditRoutes } from './audit-routes.ts';
import { createInventoryMetrics } from './metrics.ts';
import { ProductStore } from './product-store.ts';
import { productRoutes } from './product-routes.ts';
import { ReservationStore } from './reservation-store.ts';
import { reservationRoutes } from './reservation-routes.ts';

export { INVENTORY_SCHEMA, migrateInventory } from './migrations.ts';

export interface InventoryAppDeps {
  /** A pool on a database migrated with `migrateInventory`. */
  readonly pool: Pool;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  readonly faults?: FaultInjection;
  /** ADMIN_TOKEN: guards `/admin/*` (faults and audit). */
  readonly adminToken?: string | undefined;
}

/** The inventory HTTP app; no I/O until requests arrive. */
export function createApp(deps: InventoryAppDeps): Express {
  const products = new ProductStore(deps.pool);
  const reservations = new ReservationStore(deps.pool);
  const metrics = createInventoryMetrics(deps.registry);
  return createServiceApp({
    service: 'inventory',
    logger: deps.logger,
    registry: deps.registry,
    health: deps.health,
    ...(deps.faults ? { faultInjection: deps.faults } : {}),
    adminToken: deps.adminToken,
    audit: (router) => auditRoutes(router, { pool: deps.pool }),
    routes: (app) => {
      productRoutes(app, { products });
      reservationRoutes(app, { reservations, metrics });
    },
  });
}
