// Started by main.ts once tracing is set up: reads the environment, connects, migrates, listens and handles signals (through the kit).
import { launchService } from '@self-healing-shop/service-kit';
import { createApp } from './app.ts';
import { migrateInventory } from './migrations.ts';

await launchService({
  service: 'inventory',
  migrate: (pool, { logger }) => migrateInventory(pool, logger),
  build: (context) => ({ app: createApp(context) }),
});
