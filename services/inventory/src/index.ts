export { createApp, type InventoryAppDeps } from './app.ts';
export {
  INVENTORY_SCHEMA,
  migrateInventory,
  inventoryMigrations,
  CATALOGUE,
  INITIAL_STOCK,
} from './migrations.ts';
