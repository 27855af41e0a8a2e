/**
 * After an outage the chaos engine calls the service restored only when probe orders succeed in a row
 * (kill.ts `waitForOrders`). Each order replica keeps a circuit of its own and the front pins a
 * connection to one replica, so the probes must spread over connections: here a front of two replicas
 * that alternates them per connection, one of which still fails its first orders.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { waitForOrders } from '../src/actions/kill.ts';

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
