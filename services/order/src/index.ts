export { createApp, type OrderApp, type OrderAppDeps, type OrderAppOptions } from './app.ts';
export { migrateOrders, ORDER_SCHEMA } from './migrations.ts';
export { createInventoryClient, type InventoryClient } from './inventory-client.ts';
export { createNotificationClient, type NotificationClient } from './notification-client.ts';
