// Helpers for tests that run a service's main.ts as a real process (exported as ./testing).
import { spawn, type ChildProcess } from 'node:child_process';
import type { AuditPage } from '@self-healing-shop/contracts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port that was free a moment ago, for a process that cannot listen on port 0 and report it. */
export { freePort } from '@self-healing-shop/child-server';

export interface StartedProcess {
  readonly child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node <main>` with the test's environment (without its DATABASE_URL) plus `env`. */
export function startProcess(main: string, env: Record<string, string>): StartedProcess {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [main], {
    env: { ...inherited, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** Polls `predicate` until it holds; throws naming `what` after the deadline. */
export async function until(what: string, predicate: () => Promise<boolean> | boolean, deadlineMs = 20_000) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The HTTP status of a GET, or 0 when nothing answers. */
export async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

export interface RestartablePostgres {
  readonly url: string;
  readonly port: number;
  /** Stops the server (the data stays); the pools of the apps under test lose their connections. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
  /** Stops it if running and removes its folder. */
  dispose(): Promise<void>;
}

/**
 * A real PostgreSQL that a test can take away and bring back on the same port and data: the outage
 * the services must ride out without a restart of their own (the recovery tests share it).
 */
export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const { startEmbeddedPostgres } = await import('@self-healing-shop/embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'restartable-pg-'));
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined = await startEmbeddedPostgres({
    dir,
  });
  const { url, port } = server;
  return {
    url,
    port,
    async stop() {
      await server?.stop();
      server = undefined;
    },
    async start() {
      server ??= await startEmbeddedPostgres({ dir, port });
    },
    async dispose() {
      await server?.stop();
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `promtool check metrics` on a /metrics text; resolves with its complaints ('' when clean).
 * Without promtool it fails with the command that installs it, never passing silently.
 */
export async function promtoolCheckMetrics(text: string): Promise<string> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error('promtool is not installed: apt-get install -y --no-install-recommends prometheus')
          : error,
      ),
    );
    child.once('close', resolve);
    child.stdin!.end(text);
  });
  if (code !== 0 && output.trim() === '') return `promtool exited with ${code}`;
  return output.trim();
}

/** Walks an audit list page by page (`read(after)` fetches one) and returns every item and the page count. */
export async function allAuditPages<T>(
  read: (after: string | undefined) => Promise<AuditPage<T>>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = await read(after);
    items.push(...page.items);
    after = page.nextCursor;
    pages += 1;
  } while (after !== undefined);
  return { items, pages };
}
