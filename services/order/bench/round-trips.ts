// What one order costs besides CPU: SQL statements (each one a round trip: the services use pg's extended
// protocol, one Bind/Execute/Sync per query, and BEGIN/COMMIT are statements of their own), commits and WAL
// fsyncs, HTTP requests between the services, and TCP connections opened on each hop. Counts depend far
// less on what else the machine runs than orders/s or latency. Linux only for connections (/proc/net/tcp).
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** `shared_preload_libraries` needs a server restart: the bench sets it, then restarts PostgreSQL. */
export async function preloadStatementStats(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
    // Utility statements (BEGIN, COMMIT) count: they are round trips too.
    await client.query(`ALTER SYSTEM SET pg_stat_statements.track_utility = on`);
  } finally {
    await client.end();
  }
}

export interface DatabaseCounters {
  readonly commits: number;
  readonly walFsyncs: number;
  readonly walWrites: number;
}

/** Starts counting statements from zero; returns the cumulative commit and WAL counters. */
export async function resetStatements(url: string): Promise<DatabaseCounters> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query('SELECT pg_stat_statements_reset()');
    return await counters(client);
  } finally {
    await client.end();
  }
}

async function counters(client: pg.Client): Promise<DatabaseCounters> {
  // Other backends flush their counters about once a second: read after the load has stopped.
  const {
    rows: [db],
  } = await client.query<{ commits: string }>(
    `SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()`,
  );
  const {
    rows: [wal],
  } = await client.query<{ fsyncs: string | null; writes: string | null }>(
    `SELECT sum(fsyncs) AS fsyncs, sum(writes) AS writes FROM pg_stat_io WHERE object = 'wal'`,
  );
  return {
    commits: Number(db?.commits ?? 0),
    walFsyncs: Number(wal?.fsyncs ?? 0),
    walWrites: Number(wal?.writes ?? 0),
  };
}

export interface StatementCount {
  readonly calls: number;
  readonly query: string;
}

/** Statements run since the reset (most called first) and the counters' increase since `before`. */
export async function readStatements(
  url: string,
  before: DatabaseCounters,
): Promise<{ statements: StatementCount[]; delta: DatabaseCounters }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Backends report commits and WAL I/O to the statistics system at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { rows } = await client.query<{ calls: string; query: string }>(
      `SELECT calls, query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY calls DESC`,
    );
    const after = await counters(client);
    return {
      statements: rows.map((r) => ({ calls: Number(r.calls), query: r.query })),
      delta: {
        commits: after.commits - before.commits,
        walFsyncs: after.walFsyncs - before.walFsyncs,
        walWrites: after.walWrites - before.walWrites,
      },
    };
  } finally {
    await client.end();
  }
}

/** TCP connections seen on each port: `ip:port` pairs of the other end, TIME_WAIT ones included. */
export function connectionsByPort(ports: readonly number[]): Map<number, Set<string>> {
  const seen = new Map(ports.map((p) => [p, new Set<string>()]));
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return seen;
  }
  for (const line of table.split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (!local || !remote || state === '0A') continue; // 0A: a listening socket
    const localPort = parseInt(local.split(':')[1]!, 16);
    const remotePort = parseInt(remote.split(':')[1]!, 16);
    // Both ends of a loopback connection are listed; the client's end names the server's port remotely.
    if (seen.has(localPort)) seen.get(localPort)!.add(remote);
    else if (seen.has(remotePort)) seen.get(remotePort)!.add(local);
  }
  return seen;
}

/** Connections opened between two readings of `connectionsByPort` (a TIME_WAIT lingers 60 s: runs ≤ 30 s). */
export function connectionsOpened(
  before: Map<number, Set<string>>,
  after: Map<number, Set<string>>,
): Map<number, number> {
  return new Map(
    [...after].map(([port, peers]) => [port, [...peers].filter((p) => !before.get(port)?.has(p)).length]),
  );
}

/** Requests each service answered, by route, from its `http_server_request_duration_seconds_count`. */
export async function requestsByRoute(url: string): Promise<Map<string, number>> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const counts = new Map<string, number>();
  for (const match of text.matchAll(
    /^http_server_request_duration_seconds_count\{([^}]*)\} (\d+(?:\.\d+)?)$/gm,
  )) {
    const labels = match[1]!;
    const method = /method="([^"]*)"/.exec(labels)?.[1] ?? '';
    const route = /route="([^"]*)"/.exec(labels)?.[1] ?? '';
    const key = `${method} ${route}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
  }
  return counts;
}

/** `orders_total{outcome="confirmed"}` of the order service: orders it confirmed so far. */
export async function confirmedOrders(orderUrl: string): Promise<number> {
  const text = await fetch(`${orderUrl}/metrics`).then((r) => r.text());
  return Number(/^orders_total\{outcome="confirmed"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}
