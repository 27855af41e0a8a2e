import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { createPool, databaseHealthCheck, migrate, withTransaction, type Pool } from '../src/postgres.ts';

const logger = pino({ level: 'silent' });
let postgres: RunningPostgres;
let pool: Pool;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  pool = createPool({ connectionString: postgres.url, logger });
});

afterAll(async () => {
  await pool?.end();
  await postgres?.stop();
});

const migrations = [
  { id: '001-create-things', sql: 'CREATE TABLE things (id text PRIMARY KEY, n int NOT NULL)' },
  { id: '002-seed', sql: "INSERT INTO things VALUES ('a', 1)" },
];

describe('migrate', () => {
  it('applies each migration once even when replicas migrate at the same time', async () => {
    const pools = [
      createPool({ connectionString: postgres.url, logger }),
      createPool({ connectionString: postgres.url, logger }),
    ];
    await Promise.all(pools.map((p) => migrate(p, 'demo', migrations, logger)));
    await migrate(pool, 'demo', migrations, logger);
    await Promise.all(pools.map((p) => p.end()));
    const rows = (await pool.query('SELECT id, n FROM demo.things')).rows;
    expect(rows).toEqual([{ id: 'a', n: 1 }]);
    const applied = (await pool.query('SELECT id FROM demo.schema_migrations ORDER BY id')).rows.map(
      (r) => r.id,
    );
    expect(applied).toEqual(['001-create-things', '002-seed']);
  });

  it('rolls back a failing migration and names it', async () => {
    await expect(
      migrate(
        pool,
        'broken',
        [{ id: '001-bad', sql: 'CREATE TABLE t (x int); SELECT nope_column FROM t' }],
        logger,
      ),
    ).rejects.toThrow('migration broken/001-bad failed');
    const tables = await pool.query(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = 'broken' AND table_name = 't'",
    );
    expect(tables.rowCount).toBe(0);
  });
});

describe('withTransaction', () => {
  it('commits on success and rolls back on error', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS public.tx (v int)');
    await withTransaction(pool, (c) => c.query('INSERT INTO public.tx VALUES (1)'));
    await expect(
      withTransaction(pool, async (c) => {
        await c.query('INSERT INTO public.tx VALUES (2)');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await pool.query('SELECT v FROM public.tx')).rows).toEqual([{ v: 1 }]);
  });
});

describe('databaseHealthCheck', () => {
  it('passes while the database answers and fails when it cannot connect', async () => {
    await expect(databaseHealthCheck(pool).check(new AbortController().signal)).resolves.toBeUndefined();
    const unreachable = createPool({
      connectionString: 'postgres://postgres:postgres@127.0.0.1:1/shop',
      logger,
    });
    await expect(databaseHealthCheck(unreachable).check(new AbortController().signal)).rejects.toThrow();
    await unreachable.end();
  });
});

describe('createPool', () => {
  it('commits durably even when the database defaults to synchronous_commit=off', async () => {
    await pool.query('ALTER DATABASE shop SET synchronous_commit = off');
    const plain = createPool({ connectionString: postgres.url, logger });
    const raw = await import('pg');
    const other = new raw.default.Client({ connectionString: postgres.url });
    try {
      await other.connect();
      // A session without the pool's option gets the database's default...
      expect((await other.query('SHOW synchronous_commit')).rows[0]).toEqual({ synchronous_commit: 'off' });
      // ...a session of the pool commits durably.
      expect((await plain.query('SHOW synchronous_commit')).rows[0]).toEqual({ synchronous_commit: 'on' });
    } finally {
      await other.end();
      await plain.end();
      await pool.query('ALTER DATABASE shop RESET synchronous_commit');
    }
  });
});
