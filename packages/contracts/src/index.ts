// The contracts between the platform's parts, in code (README "Contracts between the parts" links here).
export * from './platform.ts';
export * from './ports.ts';
export * from './admin.ts';
export type * from './runtime-api.ts';
export { REPLICA_SIGNALS } from './runtime-api.ts';
export type * from './audit.ts';
export { findViolations, CONFIRMATION_KIND } from './invariants.ts';
export * from './tracing.ts';
