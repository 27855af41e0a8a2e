// Public API of @self-healing-shop/child-server.
export * from './child-server.ts';
export * from './executables.ts';
export * from './free-port.ts';
