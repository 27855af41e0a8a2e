// Public API of @self-healing-shop/fault-injection: the per-replica fault middleware, its admin API and the fault spec.
export * from './fault-injection.ts';
