// The database as a supervised StatefulSet: the real PostgreSQL under the runtime, read from the real
// k8s/base/postgres manifest, killed behind the runtime's back and through the control API, frozen.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';

// Waits poll with deadlines up to 30 s (a busy machine); each test gets room for them.
jest.setTimeout(90_000);
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/networking/ports.ts';
import pg from 'pg';
import pino from 'pino';
import { ControlClient } from '../src/control-plane/control-client.ts';
import { startRuntime } from '../src/runtime.ts';
import type { Runtime } from '../src/runtime.ts';
import { fixtureServer, nextEvent, repoRoot, waitFor } from './helpers.ts';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: order, labels: { app.kubernetes.io/name: order } }
spec:
  replicas: 1
  template:
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: order
          ports: [{ name: http, containerPort: 8080 }]
`;

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('the database as a StatefulSet (postgres-0)', () => {
  let runtime: Runtime;
  let client: ControlClient;
  let dir: string;
  const postgres0 = () => runtime.replicas().find((r) => r.name === 'postgres-0');
  /** The first event of postgres-0 of this type after `from` (as it is appended, or already was). */
  const postgres0Event = (from: number, type: string) =>
    nextEvent(runtime.events, from, (e) => e.type === type && e.replica === 'postgres-0', type, 30_000);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'runtime-db-'));
    await chmod(dir, 0o755); // PostgreSQL runs as the postgres user when we are root
    const k8s = path.join(dir, 'k8s');
    await mkdir(k8s);
    await copyFile(
      path.join(repoRoot, 'k8s/base/postgres/statefulset.yaml'),
      path.join(k8s, 'statefulset.yaml'),
    );
    await writeFile(path.join(k8s, 'deployment.yaml'), DEPLOYMENT);
    runtime = await startRuntime({
      rootDir: repoRoot,
      k8sDir: k8s,
      dataDir: path.join(dir, 'data'),
      controlPort: 0,
      frontPorts: {},
      // PostgreSQL cannot listen on port 0 and tell which one it got: a port the kernel just handed out.
      postgres: { port: await freePort() },
      prometheus: false,
      console: false,
      command: () => ({ command: process.execPath, args: [fixtureServer] }),
      // Probe timings × 0.2: readiness every 1 s (timeout 0.6 s, 3 failures), liveness after 6 s.
      timeScale: 0.2,
      logger: pino({ level: 'silent' }),
    });
    client = new ControlClient(runtime.controlUrl);
    await waitFor(() => postgres0()?.ready, 'postgres-0 ready', 30_000);
    // The cluster is where it was asked to be (the folder is open to the postgres user).
    expect(runtime.databaseDataDir).toBe(path.join(dir, 'data', 'postgres'));
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows postgres-0 as a replica of the postgres StatefulSet, with the manifest labels', async () => {
    const replica = (await client.replicas()).find((r) => r.name === 'postgres-0');
    expect(replica).toMatchObject({
      service: 'postgres',
      kind: 'StatefulSet',
      phase: 'running',
      ready: true,
    });
    expect(replica!.labels).toMatchObject({
      'app.kubernetes.io/name': 'postgres',
      'app.kubernetes.io/component': 'database',
    });
    const workload = (await client.workloads()).find((w) => w.name === 'postgres');
    expect(workload).toMatchObject({ kind: 'StatefulSet', replicas: 1, readyReplicas: 1 });
    expect(workload!.labels).toMatchObject({ 'app.kubernetes.io/component': 'database' });
  });

  it('commits durably (synchronous_commit on)', async () => {
    const rows = await query<{ synchronous_commit: string; fsync: string }>(
      runtime.databaseUrl!,
      'SELECT current_setting($$synchronous_commit$$) AS synchronous_commit, current_setting($$fsync$$) AS fsync',
    );
    expect(rows).toEqual([{ synchronous_commit: 'on', fsync: 'on' }]);
  });

  it('restarts PostgreSQL SIGKILLed behind its back, same port and data, ready again', async () => {
    const url = runtime.databaseUrl!;
    await query(url, 'CREATE TABLE acknowledged (id int PRIMARY KEY)');
    await query(url, 'INSERT INTO acknowledged SELECT generate_series(1, 500)');
    const before = postgres0()!;
    const from = runtime.events.lastSeq;
    process.kill(before.pid!, 'SIGKILL');
    const ready = await postgres0Event(from, 'ready');
    const seen = runtime.events.after(from).filter((e) => e.seq <= ready.seq && e.replica === 'postgres-0');
    expect(seen.map((e) => e.type)).toEqual(['exited', 'started', 'ready']);
    expect(seen.find((e) => e.type === 'exited')!.reason).toBe('signal SIGKILL');
    // A crash restarts the container in place: same pod (uid), one more restart, same port.
    const after = postgres0()!;
    expect(after).toMatchObject({
      uid: before.uid,
      port: before.port,
      restarts: before.restarts + 1,
      ready: true,
    });
    expect(after.pid).not.toBe(before.pid);
    const rows = await query<{ count: string }>(url, 'SELECT count(*) FROM acknowledged');
    expect(rows).toEqual([{ count: '500' }]);
  });

  it('recreates postgres-0 killed through the control API, keeping the data', async () => {
    const url = runtime.databaseUrl!;
    await query(url, 'CREATE TABLE IF NOT EXISTS kept (value text)');
    await query(url, "INSERT INTO kept VALUES ('written before the kill')");
    const before = postgres0()!;
    const from = runtime.events.lastSeq;
    await client.kill('postgres-0', 'SIGKILL');
    await postgres0Event(from, 'ready');
    const types = runtime.events
      .after(from)
      .filter((e) => e.replica === 'postgres-0')
      .map((e) => e.type);
    expect(types).toEqual(['killed', 'exited', 'replaced', 'started', 'ready']);
    const after = postgres0()!;
    expect(after.uid).not.toBe(before.uid);
    expect(after.restarts).toBe(before.restarts + 1);
    expect(await query(url, 'SELECT value FROM kept')).toEqual([{ value: 'written before the kill' }]);
  });

  it('takes a frozen server out of readiness and back in when thawed; its open sessions freeze too', async () => {
    // A session opened before the freeze is served by a backend, a process of its own in a session of
    // its own (setsid): the freeze must stop it too, as a container's cgroup stops every process.
    const session = new pg.Client({ connectionString: runtime.databaseUrl! });
    await session.connect();
    try {
      const from = runtime.events.lastSeq;
      await client.kill('postgres-0', 'SIGSTOP');
      await postgres0Event(from, 'unready');
      expect((await client.workloads()).find((w) => w.name === 'postgres')!.readyReplicas).toBe(0);
      const answer = session.query('SELECT 1 AS one').then((r) => r.rows);
      const silence = new Promise((resolve) => setTimeout(() => resolve('no answer while frozen'), 1_500));
      expect(await Promise.race([answer, silence])).toBe('no answer while frozen');
      await client.kill('postgres-0', 'SIGCONT');
      await postgres0Event(from, 'ready');
      // Thawed, the same session answers what it was asked while frozen.
      expect(await answer).toEqual([{ one: 1 }]);
      const types = runtime.events
        .after(from)
        .filter((e) => e.replica === 'postgres-0')
        .map((e) => [e.type, e.reason ?? '']);
      expect(types).toEqual([
        ['signalled', 'SIGSTOP'],
        ['unready', ''],
        ['signalled', 'SIGCONT'],
        ['ready', ''],
      ]);
    } finally {
      await session.end();
    }
  });

  it('exposes kube_statefulset_* and the pod metrics for postgres-0', async () => {
    await waitFor(() => postgres0()?.ready, 'postgres-0 ready');
    const restarts = postgres0()!.restarts;
    const text = await (await fetch(`${runtime.controlUrl}/metrics`)).text();
    expect(text).toContain('kube_statefulset_replicas{namespace="shop",statefulset="postgres"} 1');
    expect(text).toContain(
      'kube_statefulset_status_replicas_ready{namespace="shop",statefulset="postgres"} 1',
    );
    expect(text).toContain(
      `kube_pod_container_status_restarts_total{namespace="shop",pod="postgres-0",container="postgres"} ${restarts}`,
    );
    expect(text).toContain('kube_pod_status_ready{namespace="shop",pod="postgres-0",condition="true"} 1');
  });
});
