import pg from 'pg';
import type { Logger } from 'pino';
import type { HealthCheck } from '@self-healing-shop/resilience';
import { traceQueries } from './tracing/query-spans.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  readonly connectionString: string;
  readonly logger: Logger;
  readonly max?: number;
  readonly application?: string;
  /**
   * How long a query waits for a connection, queueing behind the others included (default 10 s). A
   * burst waits its turn rather than failing as if the database were down; a database that refuses
   * connections still fails at once.
   */
  readonly connectionTimeoutMs?: number;
}

/**
 * A pg pool with durable commits that survives the database going away: idle clients that error are dropped (logged,
 * never crashing the process) and new connections are made on the next query.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    application_name: options.application,
    // Durable commits whatever the server's default (the local runtime's PostgreSQL may run with
    // synchronous_commit=off for speed): an order answered 201 survives a database crash. A startup
    // option outranks postgresql.conf and ALTER DATABASE/ROLE settings.
    options: '-c synchronous_commit=on',
  });
  pool.on('error', (error) => {
    options.logger.warn({ err: error }, 'idle database connection lost');
  });
  traceQueries(pool, options.connectionString);
  return pool;
}

export interface Migration {
  /** Unique and ordered: `001-create-orders`. */
  readonly id: string;
  readonly sql: string;
}

/**
 * Creates `schema` and applies the migrations not applied yet, in order, each in its own
 * transaction. An advisory lock keyed on the schema makes replicas that start together take turns.
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  migrations: readonly Migration[],
  logger: Logger,
) {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`migrations:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ id: string }>(`SELECT id FROM ${schema}.schema_migrations`)).rows.map(
        (r) => r.id,
      ),
    );
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${schema}`);
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${schema}.schema_migrations (id) VALUES ($1)`, [migration.id]);
        await client.query('COMMIT');
        logger.info({ schema, migration: migration.id }, 'migration applied');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${schema}/${migration.id} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  } finally {
    await client
      .query('SELECT pg_advisory_unlock(hashtext($1))', [`migrations:${schema}`])
      .catch(() => undefined);
    client.release();
  }
}

/** Runs `fn` in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Critical readiness check: the service can do nothing useful without its database. */
export function databaseHealthCheck(pool: pg.Pool, timeoutMs = 1_000): HealthCheck {
  return {
    name: 'database',
    critical: true,
    timeoutMs,
    async check() {
      await pool.query('SELECT 1');
    },
  };
}
