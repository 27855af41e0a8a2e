import type { Express } from 'express';
import { createAppFromDeps, type ServiceAppDeps } from '@self-healing-shop/service-kit';
import { auditRoutes } from './audit-routes.ts';
import { createInventoryMetrics } from './metrics.ts';
import { ProductStore } from './product-store.ts';
import { productRoutes } from './product-routes.ts';
import { ReservationStore } from './reservation-store.ts';
import { reservationRoutes } from './reservation-routes.ts';

export { INVENTORY_SCHEMA, migrateInventory } from './migrations.ts';

export interface InventoryAppDeps extends ServiceAppDeps {
  /** A pool on a database migrated with `migrateInventory`. */
  readonly pool: ServiceAppDeps['pool'];
}

/** The inventory HTTP app; no I/O until requests arrive. */
export function createApp(deps: InventoryAppDeps): Express {
  const products = new ProductStore(deps.pool);
  const reservations = new ReservationStore(deps.pool);
  const metrics = createInventoryMetrics(deps.registry);
  return createAppFromDeps('inventory', deps, {
    audit: (router) => auditRoutes(router, { pool: deps.pool }),
    routes: (app) => {
      productRoutes(app, { products });
      reservationRoutes(app, { reservations, metrics });
    },
  });
}
