/**
 * After an outage the chaos engine calls the service restored only when every replica's circuits are
 * closed (their `GET /ready`, kill.ts `openCircuits`) and then probe orders succeed in a row
 * (kill.ts `waitForOrders`). Each order replica keeps a circuit of its own and the front pins a
 * connection to one replica, so the probes must spread over connections: here a front of two replicas
 * that alternates them per connection, one of which still fails its first orders.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { measureServiceRestored, openCircuits, waitForOrders } from '../src/actions/kill.ts';
import type { Readiness, Replica as TargetReplica, Target } from '../src/target.ts';

interface Replica {
  name: string;
  /** Orders this replica still refuses (its circuit is open) before it serves. */
  refusals: number;
  served: number;
  lastRefusalAt?: number;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function twoReplicaFront(replicas: Replica[]): Promise<{ url: string; connections: () => number }> {
  const pinned = new WeakMap<Socket, Replica>();
  let connections = 0;
  server = createServer((req, res) => {
    const replica = pinned.get(req.socket)!;
    req.resume().on('end', () => {
      if (replica.refusals > 0) {
        replica.refusals -= 1;
        replica.lastRefusalAt = Date.now();
        res.writeHead(503, { 'content-type': 'application/problem+json' }).end('{"status":503}');
        return;
      }
      replica.served += 1;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `${replica.name}-${replica.served}` }));
    });
  });
  server.on('connection', (socket: Socket) => pinned.set(socket, replicas[connections++ % replicas.length]!));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  return { url, connections: () => connections };
}

describe('service restored after an outage', () => {
  it('waits until the probes succeed in a row on more than one connection, so every replica is asked', async () => {
    const healed: Replica = { name: 'a', refusals: 0, served: 0 };
    const stillOpen: Replica = { name: 'b', refusals: 2, served: 0 };
    const front = await twoReplicaFront([healed, stillOpen]);
    const acknowledged: string[] = [];
    const restoredAt = await waitForOrders(
      {
        settings: { url: front.url } as never,
        now: () => Date.now(),
        signal: new AbortController().signal,
        acknowledge: (ids) => acknowledged.push(...ids),
      },
      Date.now() + 30_000,
    );

    expect(restoredAt).toBeDefined();
    // The replica whose circuit was still open was asked, refused, and served before the end of the wait;
    // the streak that called the service restored began after its last refusal.
    expect(stillOpen.refusals).toBe(0);
    expect(stillOpen.served).toBeGreaterThan(0);
    expect(restoredAt!).toBeGreaterThanOrEqual(stillOpen.lastRefusalAt!);
    // One connection per probe order (6 in a row, 2 refused, 2 served before the refusals ended).
    expect(front.connections()).toBe(healed.served + stillOpen.served + 2);
    // Every order answered 201 is handed over for the invariants.
    expect(acknowledged).toHaveLength(healed.served + stillOpen.served);
  });

  it('gives up at the deadline when no order succeeds', async () => {
    const front = await twoReplicaFront([
      { name: 'a', refusals: Infinity, served: 0 },
      { name: 'b', refusals: Infinity, served: 0 },
    ]);
    let now = 0;
    const restoredAt = await waitForOrders(
      {
        settings: { url: front.url } as never,
        // Each probe moves the injected clock by a second: the 5 s deadline ends the wait after 5 probes.
        now: () => (now += 500),
        signal: new AbortController().signal,
        acknowledge: () => undefined,
      },
      5_000,
    );
    expect(restoredAt).toBeUndefined();
    expect(front.connections()).toBe(5);
  });
});

/** A target whose replicas answer `GET /ready` from `checksOf` (or fail with its error). */
function readinessTarget(
  replicas: Array<Partial<TargetReplica> & { name: string; workload: string }>,
  checksOf: (replica: string) => Readiness['checks'],
): Target {
  const target: Pick<Target, 'listReplicas' | 'listWorkloads' | 'readiness'> = {
    listReplicas: async () =>
      replicas.map((r) => ({ uid: r.name, ready: true, phase: 'running', protected: false, ...r })),
    listWorkloads: async () =>
      ['order', 'inventory', 'postgres'].map((name) => ({
        name,
        kind: name === 'postgres' ? 'StatefulSet' : 'Deployment',
        desired: 2,
        ready: 2,
        updated: 2,
        available: 2,
        generation: 1,
        observedGeneration: 1,
        protected: false,
      })),
    readiness: async (replica) => {
      const checks = checksOf(replica.name);
      return { status: checks.every((c) => c.status === 'healthy') ? 'healthy' : 'degraded', checks };
    },
  };
  return target as Target;
}

const circuit = (dependency: string, state: string): Readiness['checks'][number] => ({
  name: `circuit:${dependency}`,
  status: state === 'open' || state === 'isolated' ? 'unhealthy' : 'healthy',
  message: state === 'open' ? 'circuit open, probes in 1200 ms' : `circuit ${state}`,
});

describe('the circuits of every replica after an outage (GET /ready)', () => {
  it('names each circuit that is not closed (half-open included) and each replica it could not read', async () => {
    const target = readinessTarget(
      [
        { name: 'order-a', workload: 'order' },
        { name: 'order-b', workload: 'order' },
        { name: 'order-c', workload: 'order' },
        { name: 'order-d', workload: 'order' },
        // not asked: an unready replica, one terminating, and the database (no HTTP)
        { name: 'order-e', workload: 'order', ready: false },
        { name: 'order-f', workload: 'order', phase: 'terminating' },
        { name: 'postgres-0', workload: 'postgres' },
      ],
      (name) => {
        if (name === 'order-a')
          return [
            { name: 'database', status: 'healthy' },
            circuit('inventory', 'closed'),
            circuit('notification', 'closed'),
          ];
        if (name === 'order-b') return [circuit('inventory', 'open'), circuit('notification', 'closed')];
        if (name === 'order-c') return [circuit('inventory', 'half-open')];
        if (name === 'order-d') throw new Error('answered 503');
        throw new Error(`${name} was asked`);
      },
    );
    expect(await openCircuits(target)).toEqual([
      'order-b → inventory (circuit open, probes in 1200 ms)',
      'order-c → inventory (circuit half-open)',
      'order-d: readiness not read (answered 503)',
    ]);
  });

  it('is empty when every circuit is closed; a message of another shape falls back on the status', async () => {
    const replicas = [
      { name: 'order-a', workload: 'order' },
      { name: 'inventory-a', workload: 'inventory' },
    ];
    const closed = readinessTarget(replicas, () => [
      circuit('inventory', 'closed'),
      { name: 'circuit:notification', status: 'healthy', message: 'fine' },
      { name: 'database', status: 'unhealthy' },
    ]);
    expect(await openCircuits(closed)).toEqual([]);
    const open = readinessTarget(replicas, () => [{ name: 'circuit:notification', status: 'unhealthy' }]);
    expect(await openCircuits(open)).toEqual([
      'order-a → notification (unhealthy)',
      'inventory-a → notification (unhealthy)',
    ]);
  });

  it('calls the service restored only after the last circuit closed, even when every probe order succeeds before', async () => {
    // The probes all reach a replica whose circuit never opened (the front answers 201 at once), while
    // order-b's circuit stays open 600 ms: probe orders alone would call the service restored at once.
    const front = await twoReplicaFront([
      { name: 'a', refusals: 0, served: 0 },
      { name: 'a2', refusals: 0, served: 0 },
    ]);
    const killedAt = Date.now();
    const closesAt = killedAt + 600;
    const target = readinessTarget(
      [
        { name: 'order-a', workload: 'order' },
        { name: 'order-b', workload: 'order' },
      ],
      (name) => [circuit('inventory', name === 'order-b' && Date.now() < closesAt ? 'open' : 'closed')],
    );
    const logs: Array<{ type: string; message: string; data?: Record<string, unknown> }> = [];
    const figures: { serviceRestoredMs?: number } = {};
    await measureServiceRestored(
      {
        target,
        settings: { url: front.url, recoveryTimeoutMs: 30_000 } as never,
        now: () => Date.now(),
        signal: new AbortController().signal,
        log: (type: string, message: string, data?: Record<string, unknown>) =>
          logs.push({ type, message, data }),
        acknowledge: () => undefined,
      } as never,
      1,
      { kills: [{ sentAt: killedAt }] } as never,
      figures,
    );
    expect(figures.serviceRestoredMs).toBeGreaterThanOrEqual(600);
    const restored = logs.find((l) => l.type === 'service-restored');
    expect(restored?.message).toMatch(
      /^round 1: orders succeed again \S+ after the kill \(every circuit closed at \S+\)$/,
    );
    expect(restored?.data?.circuitsClosedMs).toBeGreaterThanOrEqual(600);
    expect(restored?.data?.circuitsClosedMs).toBeLessThanOrEqual(figures.serviceRestoredMs!);
  });

  it('says which circuits stayed open when the deadline passes, and records no restoration', async () => {
    const target = readinessTarget([{ name: 'order-b', workload: 'order' }], () => [
      circuit('inventory', 'open'),
    ]);
    const logs: Array<{ type: string; message: string }> = [];
    const figures: { serviceRestoredMs?: number } = {};
    await measureServiceRestored(
      {
        target,
        settings: { url: 'http://127.0.0.1:9', recoveryTimeoutMs: 300 } as never,
        now: () => Date.now(),
        signal: new AbortController().signal,
        log: (type: string, message: string) => logs.push({ type, message }),
        acknowledge: () => undefined,
      } as never,
      2,
      { kills: [{ sentAt: Date.now() }] } as never,
      figures,
    );
    expect(figures.serviceRestoredMs).toBeUndefined();
    expect(logs).toEqual([
      {
        type: 'service-not-restored',
        message:
          'round 2: circuits still not closed 300ms after the kill: order-b → inventory (circuit open, probes in 1200 ms)',
      },
    ]);
  });
});
