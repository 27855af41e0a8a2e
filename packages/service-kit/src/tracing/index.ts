// The kit's tracing: start it first in main.ts (start-tracing.ts), read the active trace anywhere else.
export * from './start-tracing.ts';
export * from './tracing-config.ts';
export * from './trace-context.ts';
