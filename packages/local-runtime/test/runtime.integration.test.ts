// The runtime against fixture services (test/fixtures/fixture-server.ts): real processes, probes,
// replacement, routing, rolling restarts and back-off; PostgreSQL and Prometheus are left out.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';

// Waits poll with deadlines up to 30 s (a busy machine); each test gets room for them.
jest.setTimeout(90_000);
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ControlClient } from '../src/control-plane/control-client.ts';
import { startRuntime } from '../src/runtime.ts';
import type { Runtime } from '../src/runtime.ts';
import { fixtureManifests, fixtureServer, nextEvent, repoRoot, waitFor } from './helpers.ts';

const fixtureCommand = () => ({ command: process.execPath, args: [fixtureServer] });
const silent = pino({ level: 'silent' });

describe('local runtime with fixture services', () => {
  let runtime: Runtime;
  let dataDir: string;
  let client: ControlClient;
  const readyOf = (service: string) => runtime.replicas().filter((r) => r.service === service && r.ready);

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'runtime-it-'));
    runtime = await startRuntime({
      rootDir: repoRoot,
      k8sDir: fixtureManifests,
      dataDir,
      controlPort: 0,
      frontPorts: { order: 0, inventory: 0, notification: 0 },
      postgres: false,
      prometheus: false,
      console: false,
      command: fixtureCommand,
      // Probe timings × 0.5 (timeouts of 500 ms): a busy machine does not fail a probe of a healthy replica.
      timeScale: 0.5,
      // One evaluation at start (min/max only); CPU-driven scaling is covered by hpa.test.ts.
      hpaIntervalMs: 3_600_000,
      logger: silent,
    });
    client = new ControlClient(runtime.controlUrl);
    await waitFor(() => runtime.replicas().filter((r) => r.ready).length === 6, '6 ready replicas', 60_000);
  }, 90_000);

  afterAll(async () => {
    await runtime?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs 2 ready replicas per Deployment and routes a request through the front port', async () => {
    const deployments = await client.workloads();
    expect(deployments.map((d) => [d.name, d.replicas, d.readyReplicas])).toEqual([
      ['order', 2, 2],
      ['inventory', 2, 2],
      ['notification', 2, 2],
    ]);
    const response = await fetch(`${runtime.frontUrls['order']}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'it-1' },
      body: '{"customer":{"email":"a@b.c"}}',
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { pod: string; requestId: string; env: Record<string, string> };
    expect(readyOf('order').map((r) => r.name)).toContain(body.pod);
    expect(body.requestId).toBe('it-1');
    expect(body.env).toEqual({
      INVENTORY_URL: runtime.frontUrls['inventory'],
      NOTIFICATION_URL: runtime.frontUrls['notification'],
      GREETING: 'hello',
      API_KEY: 's3cret',
      // The admin token (contracts: ADMIN_TOKEN, LOCAL_ADMIN_TOKEN unless ADMIN_TOKEN is set); no old variable.
      ADMIN_TOKEN: process.env['ADMIN_TOKEN'] ?? 'local-chaos-token',
    });
  });

  it('shows each replica with its kind and its pod template labels', async () => {
    const replicas = await client.replicas();
    expect(replicas).toHaveLength(6);
    for (const replica of replicas) {
      expect(replica.kind).toBe('Deployment');
      expect(replica.labels).toEqual({ 'app.kubernetes.io/name': replica.service });
    }
    const order = (await client.workloads()).find((w) => w.name === 'order')!;
    expect(order).toMatchObject({ kind: 'Deployment' });
    expect(order.labels).toMatchObject({ 'app.kubernetes.io/component': 'api' });
  });

  it('freezes a replica with SIGSTOP: it goes unready, liveness kills it, SIGKILL ends the stopped process', async () => {
    await waitFor(() => readyOf('order').length === 2, 'order ready');
    const victim = readyOf('order')[0]!;
    const from = runtime.events.lastSeq;
    await client.kill(victim.name, 'SIGSTOP');
    const of = (type: string) => (e: { type: string; replica: string | null }) =>
      e.type === type && e.replica === victim.name;
    const replaced = await nextEvent(runtime.events, from, of('replaced'), 'replaced');
    const mine = runtime.events.after(from).filter((e) => e.replica === victim.name);
    expect(mine.map((e) => e.type)).toEqual(['signalled', 'unready', 'killed', 'exited', 'replaced']);
    expect(mine[0]!.reason).toBe('SIGSTOP');
    expect(mine[2]!.reason).toBe('liveness probe failed 2 times');
    // SIGTERM waits while the process is stopped; the grace period ends with SIGKILL, which does not.
    expect(mine[3]!.reason).toBe('signal SIGKILL');
    const successor = replaced.reason!.replace('by ', '');
    await nextEvent(runtime.events, from, (e) => e.type === 'ready' && e.replica === successor, 'ready');
  });

  it('thaws a frozen replica with SIGCONT', async () => {
    await waitFor(() => readyOf('inventory').length === 2, 'inventory ready');
    const victim = readyOf('inventory')[0]!;
    const from = runtime.events.lastSeq;
    await client.kill(victim.name, 'SIGSTOP');
    await client.kill(victim.name, 'SIGCONT');
    const signalled = runtime.events.after(from).filter((e) => e.type === 'signalled');
    expect(signalled.map((e) => [e.replica, e.reason])).toEqual([
      [victim.name, 'SIGSTOP'],
      [victim.name, 'SIGCONT'],
    ]);
    // Thawed, it answers again (its own port, not the front).
    const answer = await waitFor(
      () =>
        fetch(`http://127.0.0.1:${victim.port}/health`).then(
          (r) => r.status === 200,
          () => false,
        ),
      'the thawed replica to answer',
    );
    expect(answer).toBe(true);
  });

  it('replaces a SIGKILLed replica, and the replacement becomes ready', async () => {
    const victim = readyOf('order')[0]!;
    const from = runtime.events.lastSeq;
    await client.kill(victim.name, 'SIGKILL');
    const replaced = await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'replaced' && e.replica === victim.name,
      'replaced',
    );
    const successor = replaced.reason!.replace('by ', '');
    await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'ready' && e.replica === successor,
      'replacement ready',
    );
    const sequence = runtime.events
      .after(from)
      .filter((e) => e.replica === victim.name || e.replica === successor)
      .map((e) => `${e.type} ${e.replica === victim.name ? 'old' : 'new'}`);
    expect(sequence).toEqual(['killed old', 'exited old', 'replaced old', 'started new', 'ready new']);
    const now = runtime.replicas().find((r) => r.name === successor)!;
    expect(now).toMatchObject({
      service: 'order',
      phase: 'running',
      ready: true,
      restarts: victim.restarts + 1,
    });
    expect(now.uid).not.toBe(victim.uid);
    expect(runtime.replicas().some((r) => r.name === victim.name)).toBe(false);
  });

  it('answers 503 at once while no inventory replica is ready, then recovers by itself', async () => {
    const victims = readyOf('inventory');
    expect(victims).toHaveLength(2);
    const from = runtime.events.lastSeq;
    await Promise.all(victims.map((v) => client.kill(v.name, 'SIGKILL')));
    await Promise.all(
      victims.map((v) =>
        nextEvent(runtime.events, from, (e) => e.type === 'exited' && e.replica === v.name, 'exit'),
      ),
    );
    const response = await fetch(`${runtime.frontUrls['inventory']}/products`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    // At once: the answer did not wait for a replacement to become ready.
    const answeredAt = runtime.events.lastSeq;
    expect(
      runtime.events
        .after(from)
        .filter((e) => e.type === 'ready' && e.service === 'inventory' && e.seq <= answeredAt),
    ).toEqual([]);
    const recovered = await waitFor(async () => {
      const r = await fetch(`${runtime.frontUrls['inventory']}/products`);
      return r.status === 200 ? r : undefined;
    }, 'inventory to answer again');
    expect(((await recovered.json()) as { service: string }).service).toBe('inventory');
    await waitFor(() => readyOf('inventory').length === 2, 'both inventory replicas ready');
  });

  it('kills and replaces a replica whose liveness probe fails', async () => {
    const victim = readyOf('notification')[0]!;
    const from = runtime.events.lastSeq;
    const answer = await fetch(`http://127.0.0.1:${victim.port}/__fixture/liveness`, {
      method: 'POST',
      body: '{"ok":false}',
    });
    expect(answer.status).toBe(200);
    const killed = await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'killed' && e.replica === victim.name,
      'liveness kill',
    );
    expect(killed.reason).toBe('liveness probe failed 2 times');
    const replaced = await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'replaced' && e.replica === victim.name,
      'replaced',
    );
    const exited = runtime.events.after(from).find((e) => e.type === 'exited' && e.replica === victim.name)!;
    // preStop, then SIGTERM: the fixture drains and exits 0.
    expect(exited.reason).toBe('exit code 0');
    const successor = replaced.reason!.replace('by ', '');
    await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'ready' && e.replica === successor,
      'replacement ready',
    );
    expect(runtime.replicas().find((r) => r.name === successor)?.restarts).toBe(victim.restarts + 1);
  });

  it('rolls a restart out one replica at a time without a failed request', async () => {
    await waitFor(() => readyOf('order').length === 2, 'order ready');
    const before = new Set(
      runtime
        .replicas()
        .filter((r) => r.service === 'order')
        .map((r) => r.name),
    );
    const failures: string[] = [];
    let requests = 0;
    let rolling = true;
    const loop = async (method: string) => {
      while (rolling) {
        requests += 1;
        try {
          const response = await fetch(`${runtime.frontUrls['order']}/orders`, {
            method,
            body: method === 'POST' ? '{}' : undefined,
          });
          await response.arrayBuffer();
          if (response.status >= 400) failures.push(`${method} ${response.status}`);
        } catch (error) {
          failures.push(`${method} ${(error as Error).message}`);
        }
      }
    };
    const loops = [loop('POST'), loop('GET'), loop('POST')];
    let maxOrderReplicas = 0;
    const unsubscribe = runtime.events.subscribe(() => {
      const live = runtime
        .replicas()
        .filter((r) => r.service === 'order' && r.phase !== 'terminating').length;
      maxOrderReplicas = Math.max(maxOrderReplicas, live);
    });
    const generation = (await client.workloads()).find((d) => d.name === 'order')!.generation;
    await client.restart('order');
    await waitFor(async () => {
      const order = (await client.workloads()).find((d) => d.name === 'order')!;
      const names = runtime
        .replicas()
        .filter((r) => r.service === 'order')
        .map((r) => r.name);
      return (
        order.updatedReplicas === 2 &&
        order.readyReplicas === 2 &&
        names.length === 2 &&
        names.every((n) => !before.has(n))
      );
    }, 'the rollout to finish');
    rolling = false;
    await Promise.all(loops);
    unsubscribe();
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(20);
    expect(maxOrderReplicas).toBe(3); // maxSurge 1: never more than one extra
    const order = (await client.workloads()).find((d) => d.name === 'order')!;
    expect(order.generation).toBe(generation + 1);
    expect(order.observedGeneration).toBe(order.generation);
  });

  it("writes each replica's output to <data>/logs/<replica>.log", async () => {
    const replica = readyOf('order')[0]!;
    const text = await readFile(path.join(dataDir, 'logs', `${replica.name}.log`), 'utf8');
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({ msg: 'listening', pod: replica.name });
  });

  it('exposes Deployment, restart and HPA figures under kube-state-metrics names', async () => {
    await waitFor(() => readyOf('notification').length === 2, 'notification ready');
    const victim = readyOf('notification')[0]!;
    const from = runtime.events.lastSeq;
    await client.kill(victim.name, 'SIGKILL');
    const replaced = await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'replaced' && e.replica === victim.name,
      'replaced',
    );
    const successor = replaced.reason!.replace('by ', '');
    await waitFor(() => readyOf('inventory').length === 2 && readyOf('order').length === 2, 'all ready');
    const text = await (await fetch(`${runtime.controlUrl}/metrics`)).text();
    expect(text).toContain('kube_deployment_spec_replicas{namespace="shop",deployment="order"} 2');
    expect(text).toContain(
      'kube_deployment_status_replicas_ready{namespace="shop",deployment="inventory"} 2',
    );
    expect(text).toContain(
      'kube_horizontalpodautoscaler_status_desired_replicas{namespace="shop",horizontalpodautoscaler="order"} 2',
    );
    // The replacement carries the victim's restarts, plus this one.
    expect(text).toContain(
      `kube_pod_container_status_restarts_total{namespace="shop",pod="${successor}",container="notification"} ${victim.restarts + 1}`,
    );
  });
});

/** A runtime of one fixture Deployment (`<name>.yaml`: its container), with a short back-off; stopped after the tests. */
function fixtureDeployment(name: string, replicas: number, container: string): { runtime: () => Runtime } {
  let runtime: Runtime;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), `runtime-${name}-`));
    await writeFile(
      path.join(dir, `${name}.yaml`),
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  template:
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          ports: [{ name: http, containerPort: 8080 }]
${container}`,
    );
    runtime = await startRuntime({
      rootDir: repoRoot,
      k8sDir: dir,
      dataDir: path.join(dir, 'data'),
      controlPort: 0,
      frontPorts: {},
      postgres: false,
      prometheus: false,
      console: false,
      command: fixtureCommand,
      backoff: { initialMs: 200, maxMs: 5_000, resetAfterMs: 600_000 },
      logger: silent,
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return { runtime: () => runtime };
}

describe('local runtime with a crashing replica', () => {
  const fixture = fixtureDeployment('crasher', 1, '          env: [{ name: CRASH_AFTER_MS, value: "50" }]\n');

  it('backs off with growing delays, replacing only once each delay has passed', async () => {
    const runtime = fixture.runtime();
    await nextEvent(
      runtime.events,
      0,
      (e) => e.type === 'backoff' && e.reason!.includes('(4 crashes in a row)'),
      'a fourth crash',
    );
    const events = runtime.events.after(0);
    const backoffs = events.filter((e) => e.type === 'backoff');
    const delays = backoffs.map((e) => Number(/back-off ([\d.]+)s/.exec(e.reason!)![1]) * 1000);
    expect(delays).toEqual([200, 400, 800]);
    // The first crash was replaced at once; each later replacement waited for its delay.
    const firstExit = events.find((e) => e.type === 'exited')!;
    const firstReplace = events.find((e) => e.type === 'replaced')!;
    expect(firstReplace.seq).toBe(firstExit.seq + 1);
    for (const [i, backoff] of backoffs.slice(0, 2).entries()) {
      const replaced = events.find((e) => e.type === 'replaced' && e.replica === backoff.replica);
      expect(Date.parse(replaced!.at) - Date.parse(backoff.at)).toBeGreaterThanOrEqual(delays[i]! - 5);
    }
    const waiting = runtime.replicas().find((r) => r.phase === 'backoff');
    // Like the kubelet's restartCount: 3 restarts so far, the 4th comes when the back-off ends.
    expect(waiting).toMatchObject({ service: 'crasher', pid: null, ready: false, restarts: 3 });
    expect((await new ControlClient(runtime.controlUrl).workloads())[0]).toMatchObject({
      name: 'crasher',
      replicas: 1,
      readyReplicas: 0,
    });
  });
});

describe('local runtime rolling out over a crash-looping revision', () => {
  const fixture = fixtureDeployment(
    'steady',
    2,
    '          readinessProbe: { httpGet: { path: /ready, port: http }, periodSeconds: 1 }\n',
  );

  // A broken release, then its fix before the progress deadline: the surge replica of the broken
  // revision waits in back-off, which keeps the Deployment at desired + maxSurge until it is removed.
  it('replaces the waiting replica of a broken revision with the next revision', async () => {
    const runtime = fixture.runtime();
    const steady = runtime.controllers.get('steady')!;
    await waitFor(() => steady.status().readyReplicas === 2, '2 ready replicas');
    // Never ready: it crashes 300 ms after its start, before its /ready would answer 200.
    steady.rollout({ env: { CRASH_AFTER_MS: '300', READY_DELAY_MS: '60000' } });
    await nextEvent(runtime.events, 0, (e) => e.type === 'backoff', 'the broken revision backing off');
    steady.rollout({ env: { CRASH_AFTER_MS: '0', READY_DELAY_MS: '0' } });
    await waitFor(() => {
      const status = steady.status();
      return status.updatedReplicas === 2 && status.readyReplicas === 2 && status.replicas === 2;
    }, 'the fixed revision rolled out: 2 updated, 2 ready, nothing else');
    expect(runtime.replicas().filter((r) => r.phase === 'backoff')).toEqual([]);
  });
});
