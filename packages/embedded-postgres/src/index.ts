// Public API of @self-healing-shop/embedded-postgres: the server launcher and its test wrapper.
export * from './postgres-server.ts';
export * from './embedded-postgres.ts';
