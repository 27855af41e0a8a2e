import type { RequestListener } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { baseConfigShape, ConfigError, parseConfig } from './config.ts';
import { createServiceApp } from './create-service-app.ts';
import { DatabaseUnavailableError } from './database-errors.ts';
import { createLogger } from './logger.ts';
import { createPool, databaseHealthCheck, type Pool } from './postgres.ts';
import { runService, type RunningService } from './run-service.ts';
import { createServiceContext, type ServiceContext } from './service-context.ts';
import { stopTracing } from './tracing/start-tracing.ts';

type BaseShape = typeof baseConfigShape;
export type LaunchConfig<S extends z.ZodRawShape> = z.infer<z.ZodObject<BaseShape>> & z.infer<z.ZodObject<S>>;
type Closeable = { readonly name: string; close(): Promise<void> | void };

export interface LaunchOptions<S extends z.ZodRawShape> {
  readonly service: string;
  /** The service's own variables, parsed with the base ones. */
  readonly configShape?: S;
  /** Creates or upgrades the service's schema; retried with backoff for as long as the database is away. */
  readonly migrate: (pool: Pool, context: ServiceContext) => Promise<void>;
  /** Builds the app (and starts background workers) once the database is migrated. */
  readonly build: (
    context: ServiceContext & { readonly pool: Pool; readonly config: LaunchConfig<S> },
  ) =>
    | Promise<{ app: Express; onClose?: readonly Closeable[] }>
    | { app: Express; onClose?: readonly Closeable[] };
  readonly env?: NodeJS.ProcessEnv;
}

/** Waits between migration attempts: 250 ms doubling up to this. */
const MAX_RETRY_WAIT_MS = 4_000;

/** A first migration that has not finished by then no longer delays listening (alive, not ready). */
const FIRST_ATTEMPT_WAIT_MS = 5_000;

/**
 * What every service's main.ts does: parse the environment (exit 1 naming bad variables), create the
 * context and pool, migrate and build the app, listen, with graceful shutdown throughout. When the
 * database does not answer the first attempt (within FIRST_ATTEMPT_WAIT_MS), the service listens
 * anyway (alive, not ready) and migrates as soon as the database answers: it waits for it as long as
 * it takes, since a database that comes up late, as on a first deploy, is not a reason to exit.
 *
 * Why not always listen first: the startup probe (`/health`) then passes before migrations are done,
 * the first readiness probe right after it fails, and the replica becomes ready only one readiness
 * period later (3 s on the manifests): a replacement was ready in about 2 s or about 5 s, bimodal.
 * Listening once ready makes the first probe that reaches the process find it ready (issue 12).
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

async function launch<S extends z.ZodRawShape>(options: LaunchOptions<S>): Promise<RunningService> {
  const config = parseConfig({ ...baseConfigShape, ...options.configShape }, options.env) as LaunchConfig<S>;
  const context = createServiceContext({
    service: options.service,
    logLevel: config.LOG_LEVEL,
    ...(config.POD_NAME ? { pod: config.POD_NAME } : {}),
    faultInjection: { enabled: config.FAULT_INJECTION_ENABLED },
    adminToken: config.ADMIN_TOKEN,
  });
  const { logger, health, faults } = context;
  const pool = createPool({
    connectionString: config.DATABASE_URL,
    logger,
    application: `${options.service}/${config.POD_NAME ?? process.pid}`,
  });

  // Until the schema is migrated the database check fails: alive (/health 200) but not ready (/ready 503).
  let migrated = false;
  const database = databaseHealthCheck(pool);
  health.register({
    ...database,
    async check(signal) {
      if (!migrated) throw new Error('waiting for the database (migrations not applied yet)');
      return database.check(signal);
    },
  });

  const startup = new AbortController();
  // Read by the shutdown at the time it runs: the app's own resources are inserted once it is built.
  const closers: Closeable[] = [
    { name: 'start-up', close: () => startup.abort() },
    { name: 'fault-injection', close: () => faults.dispose() },
    { name: 'database', close: () => pool.end() },
    // Last: the spans of the shutdown itself are sent too.
    { name: 'tracing', close: () => stopTracing() },
  ];
  let handler: RequestListener = startingApp(context);
  const serve = async () => {
    migrated = true;
    const built = await options.build({ ...context, pool, config });
    closers.splice(1, 0, ...(built.onClose ?? []));
    handler = built.app;
  };
  const listen = () =>
    runService({
      app: (req, res) => handler(req, res),
      port: config.PORT,
      host: config.HOST,
      logger,
      health,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      onClose: closers,
    });

  let firstError: unknown;
  const first = options.migrate(pool, context).then(
    () => true,
    (error: unknown) => {
      firstError = error;
      return false;
    },
  );
  const early = await Promise.race([first, delay(FIRST_ATTEMPT_WAIT_MS, undefined, { ref: false })]);
  if (early === true) {
    await serve();
    const running = await listen();
    logger.info('migrated and serving');
    return running;
  }

  const running = await listen();
  // The first attempt may still be under way (a slow database): it is awaited before any retry.
  const firstDone = await first;
  if (!firstDone) logger.warn({ err: firstError }, 'database not ready for migrations: retrying');
  const migratedNow =
    firstDone || (await migrateWhenReachable(() => options.migrate(pool, context), startup.signal, logger));
  if (!migratedNow) {
    logger.info('stopped during start-up');
    return running;
  }
  await serve();
  logger.info('migrated and serving');
  return running;
}

/** Probes and metrics while the database is awaited; every other request gets 503 database-unavailable. */
function startingApp(context: ServiceContext): Express {
  return createServiceApp({
    service: context.service,
    logger: context.logger,
    registry: context.registry,
    health: context.health,
    adminToken: context.adminToken,
    routes: (app) =>
      app.use((_req, _res, next) => {
        next(new DatabaseUnavailableError());
      }),
  });
}

/** Retries `migrate` with capped exponential backoff until it succeeds (true) or start-up is aborted (false). */
async function migrateWhenReachable(
  migrate: () => Promise<void>,
  signal: AbortSignal,
  logger: Logger,
): Promise<boolean> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await migrate();
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      const waitMs = Math.min(250 * 2 ** (attempt - 1), MAX_RETRY_WAIT_MS);
      logger.warn({ err: error, attempt, waitMs }, 'database not ready for migrations: retrying');
      try {
        await delay(waitMs, undefined, { signal });
      } catch {
        return false;
      }
    }
  }
  return false;
}
