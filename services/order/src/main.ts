// Entry point. Tracing starts first, then the service is imported: the SDK is set up before the app's
// middleware and database pool are created (service-kit README, "Tracing").
import { startTracing } from '@self-healing-shop/service-kit/tracing';

if (await startTracing({ service: 'order' })) await import('./launch.ts');
