export { createApp, type NotificationAppDeps, type NotificationChannel } from './app.ts';
export { NOTIFICATION_SCHEMA, migrateNotification, notificationMigrations } from './migrations.ts';
