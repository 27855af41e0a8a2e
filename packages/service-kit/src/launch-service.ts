import { setTimeout as delay } from 'node:timers/promises';
import type { Express } from 'express';
import type { z } from 'zod';
import { baseConfigShape, ConfigError, parseConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { createPool, databaseHealthCheck, type Pool } from './postgres.ts';
import { runService, type RunningService } from './run-service.ts';
import { createServiceContext, type ServiceContext } from './service-context.ts';

type BaseShape = typeof baseConfigShape;
export type LaunchConfig<S extends z.ZodRawShape> = z.infer<z.ZodObject<BaseShape>> & z.infer<z.ZodObject<S>>;
type Closeable = { readonly name: string; close(): Promise<void> | void };

export interface LaunchOptions<S extends z.ZodRawShape> {
  readonly service: string;
  /** The service's own variables, parsed with the base ones. */
  readonly configShape?: S;
  /** Creates or upgrades the service's schema; retried with backoff until `startupDeadlineMs`. */
  readonly migrate: (pool: Pool, context: ServiceContext) => Promise<void>;
  /** Builds the app (and starts background workers) once the database is migrated. */
  readonly build: (
    context: ServiceContext & { readonly pool: Pool; readonly config: LaunchConfig<S> },
  ) =>
    | Promise<{ app: Express; onClose?: readonly Closeable[] }>
    | { app: Express; onClose?: readonly Closeable[] };
  /** How long start-up waits for the database (within the startup probe's budget) before exiting 1. */
  readonly startupDeadlineMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * What every service's main.ts does: parse the environment (exit 1 naming bad variables), create
 * the context and pool, migrate (waiting for the database with backoff; SIGTERM meanwhile exits 0),
 * register the database check, build the app and run it with graceful shutdown.
 */
export async function launchService<S extends z.ZodRawShape>(
  options: LaunchOptions<S>,
): Promise<RunningService | undefined> {
  // Errors before the service logger exists go to stderr as JSON lines.
  const stderrLogger = createLogger({ service: options.service, destination: process.stderr });
  try {
    return await launch(options);
  } catch (error) {
    if (error instanceof ConfigError) stderrLogger.fatal({ problems: error.problems }, error.message);
    else stderrLogger.fatal({ err: error }, 'start-up failed');
    process.exitCode = 1;
    return undefined;
  }
}

async function launch<S extends z.ZodRawShape>(
  options: LaunchOptions<S>,
): Promise<RunningService | undefined> {
  const config = parseConfig({ ...baseConfigShape, ...options.configShape }, options.env) as LaunchConfig<S>;
  const context = createServiceContext({
    service: options.service,
    logLevel: config.LOG_LEVEL,
    ...(config.POD_NAME ? { pod: config.POD_NAME } : {}),
    faultInjection: { enabled: config.FAULT_INJECTION_ENABLED, token: config.FAULT_INJECTION_TOKEN },
  });
  const { logger, health, faults } = context;
  const pool = createPool({
    connectionString: config.DATABASE_URL,
    logger,
    application: `${options.service}/${config.POD_NAME ?? process.pid}`,
  });

  const startup = new AbortController();
  const stopStartup = () => startup.abort();
  process.once('SIGTERM', stopStartup);
  process.once('SIGINT', stopStartup);
  const migrated = await retryUntil(() => options.migrate(pool, context), {
    deadlineMs: options.startupDeadlineMs ?? 30_000,
    signal: startup.signal,
    onRetry: (error, attempt, waitMs) =>
      logger.warn({ err: error, attempt, waitMs }, 'database not ready for migrations: retrying'),
  });
  process.removeListener('SIGTERM', stopStartup);
  process.removeListener('SIGINT', stopStartup);
  if (!migrated.ok) {
    await pool.end().catch(() => undefined);
    if (startup.signal.aborted) {
      logger.info('stopped during start-up');
      return undefined;
    }
    logger.fatal({ err: migrated.error }, 'database unavailable at start-up');
    process.exitCode = 1;
    return undefined;
  }

  health.register(databaseHealthCheck(pool));
  const built = await options.build({ ...context, pool, config });
  return runService({
    app: built.app,
    port: config.PORT,
    host: config.HOST,
    logger,
    health,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    onClose: [
      ...(built.onClose ?? []),
      { name: 'fault-injection', close: () => faults.dispose() },
      { name: 'database', close: () => pool.end() },
    ],
  });
}

async function retryUntil(
  fn: () => Promise<void>,
  options: {
    deadlineMs: number;
    signal: AbortSignal;
    onRetry: (error: unknown, attempt: number, waitMs: number) => void;
  },
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  const deadline = Date.now() + options.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return { ok: true };
    } catch (error) {
      const waitMs = Math.min(250 * 2 ** (attempt - 1), 4_000);
      if (options.signal.aborted || Date.now() + waitMs > deadline) return { ok: false, error };
      options.onRetry(error, attempt, waitMs);
      try {
        await delay(waitMs, undefined, { signal: options.signal });
      } catch {
        return { ok: false, error };
      }
    }
  }
}
