// Helpers for tests that run a service's main.ts as a real process (exported as ./testing).
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '@self-healing-shop/child-server';
import type { AuditPage } from '@self-healing-shop/contracts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LevelWithSilent, Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ServiceAppDeps } from './create-service-app.ts';
import { createPool, databaseHealthCheck, type Pool } from './postgres.ts';
import { createServiceContext } from './service-context.ts';

/** A port that was free a moment ago, for a process that cannot listen on port 0 and report it. */
export { freePort };

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

/**
 * Runs a service's `main.ts` as a real process on a free port of 127.0.0.1 until `/ready` answers 200,
 * hands its base URL to `use`, then sends SIGTERM and resolves with how it exited and what it wrote.
 * The process is killed in any case.
 */
export async function withMainProcess(
  main: string,
  env: Record<string, string>,
  use: (baseUrl: string, service: StartedProcess) => Promise<void>,
): Promise<{ exit: { code: number | null; signal: NodeJS.Signals | null }; output: string }> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const service = startProcess(main, { PORT: String(port), HOST: '127.0.0.1', ...env });
  try {
    await until('/ready', async () => (await httpStatus(`${baseUrl}/ready`)) === 200);
    await use(baseUrl, service);
    service.child.kill('SIGTERM');
    return { exit: await service.exited, output: service.output() };
  } finally {
    service.child.kill('SIGKILL');
  }
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
 * Starts a replica with `start` on a database that the test can take away: the set-up of the services'
 * recovery tests. `dispose` closes the replica, then removes the database.
 */
export async function onRestartablePostgres<R extends { close(): Promise<void> }>(
  start: (url: string) => Promise<R>,
): Promise<{ pg: RestartablePostgres; replica: R; dispose(): Promise<void> }> {
  const pg = await startRestartablePostgres();
  const replica = await start(pg.url).catch(async (error: unknown) => {
    await pg.dispose();
    throw error;
  });
  return {
    pg,
    replica,
    async dispose() {
      await replica.close();
      await pg.dispose();
    },
  };
}

/**
 * A database outage as a replica must ride it out: stops the database, waits until the replica's
 * readiness (`readyStatus`) answers 503, runs `during`, brings the database back and waits for 200.
 */
export async function databaseOutage(
  pg: RestartablePostgres,
  readyStatus: () => Promise<number>,
  during: () => Promise<void>,
): Promise<void> {
  await pg.stop();
  await until('/ready 503', async () => (await readyStatus()) === 503);
  await during();
  await pg.start();
  await until('/ready 200', async () => (await readyStatus()) === 200);
}

export interface TestReplicaOptions {
  /** Run the service's migrations first (default true). */
  readonly migrate?: boolean;
  readonly adminToken?: string;
  readonly faultInjection?: boolean;
  readonly defaultMetrics?: boolean;
  /** Default `silent`. */
  readonly logLevel?: LevelWithSilent;
  readonly logDestination?: NodeJS.WritableStream;
}

export interface TestReplica<App> {
  readonly app: App;
  readonly pool: Pool;
  readonly registry: Registry;
  /** Disposes the fault injection and ends the pool. */
  close(): Promise<void>;
}

/**
 * One replica of a service in-process, as `launchService` builds it but without listening: its own
 * context, pool (on `url`, migrated with `migrate`) and database health check, and the app `build` makes.
 */
export async function startTestReplica<App>(
  service: string,
  url: string,
  parts: {
    readonly migrate: (pool: Pool, logger: Logger) => Promise<unknown>;
    readonly build: (deps: ServiceAppDeps) => App;
  },
  options: TestReplicaOptions = {},
): Promise<TestReplica<App>> {
  const { logger, registry, health, faults } = createServiceContext({
    service,
    logLevel: options.logLevel ?? 'silent',
    defaultMetrics: options.defaultMetrics ?? false,
    faultInjection: { enabled: options.faultInjection ?? false },
    adminToken: options.adminToken,
    ...(options.logDestination ? { logDestination: options.logDestination } : {}),
  });
  const pool = createPool({ connectionString: url, logger, application: `${service}-test` });
  if (options.migrate !== false) await parts.migrate(pool, logger);
  health.register(databaseHealthCheck(pool));
  const app = parts.build({ pool, logger, registry, health, faults, adminToken: options.adminToken });
  return {
    app,
    pool,
    registry,
    async close() {
      faults.dispose();
      await pool.end();
    },
  };
}

/** The value of a counter (or gauge) with these labels in `registry`; 0 when no series has them yet. */
export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

let sequence = 0;
/** A fresh id per call (an order id), unique across test files running at once. */
export function uniqueId(prefix = 'ord'): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`;
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

/** One span as an OTLP/HTTP JSON receiver sees it, with its attributes flattened to values. */
export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, unknown> }>;
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>;
}

export interface OtlpReceiver {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: readonly ReceivedSpan[];
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}
type OtlpAttributes = Array<{ key: string; value: OtlpAnyValue }> | undefined;

function otlpValue(v: OtlpAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(otlpValue);
  return undefined;
}

function otlpAttributes(attributes: OtlpAttributes): Record<string, unknown> {
  return Object.fromEntries((attributes ?? []).map((a) => [a.key, otlpValue(a.value)]));
}

/** A tiny OTLP/HTTP JSON receiver on 127.0.0.1 port 0 that keeps every span posted to /v1/traces. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const { createServer: createHttpServer } = await import('node:http');
  const { gunzipSync } = await import('node:zlib');
  const spans: ReceivedSpan[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = JSON.parse(
        (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString(),
      ) as {
        resourceSpans?: Array<{
          resource?: { attributes?: OtlpAttributes };
          scopeSpans?: Array<{
            spans?: Array<{
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind: number;
              attributes?: OtlpAttributes;
              events?: Array<{ name: string; attributes?: OtlpAttributes }>;
              links?: Array<{ traceId: string; spanId: string }>;
            }>;
          }>;
        }>;
      };
      for (const rs of body.resourceSpans ?? []) {
        const service = String(otlpAttributes(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              attributes: otlpAttributes(s.attributes),
              events: (s.events ?? []).map((e) => ({
                name: e.name,
                attributes: otlpAttributes(e.attributes),
              })),
              links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
