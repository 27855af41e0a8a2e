// Public API of @self-healing-shop/resilience. Each module is usable alone; see README.md.
export * from './errors.ts';
export * from './clock.ts';
export * from './health-check.ts';
export * from './health-registry.ts';
export * from './metrics.ts';
export * from './dependency-policy.ts';
export * from './http-client.ts';
export * from './degradation-manager.ts';
export * from './graceful-shutdown.ts';
export * from './fault-injection.ts';
