// Entry point. Tracing starts first, then the service is imported: instrumentation of ES modules only
// sees express, pg and http when they are loaded after its hooks (service-kit README, "Tracing").
import { startTracing } from '@self-healing-shop/service-kit/tracing';

if (await startTracing({ service: 'notification', startsTraces: false })) await import('./launch.ts');
