import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Endpoints } from '../src/networking/endpoints.ts';
import { createFrontProxy } from '../src/networking/front-proxy.ts';

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('Endpoints', () => {
  it('gives a new connection a ready replica at random and keeps it there while that replica is ready', () => {
    // A uniform draw in [0, 1) picks index floor(draw * replicas), as kube-proxy's random choice.
    const draws = [0.1, 0.5, 0.9, 0.7];
    const endpoints = new Endpoints(() => draws.shift()!);
    endpoints.set([
      { name: 'a', port: 1 },
      { name: 'b', port: 2 },
      { name: 'c', port: 3 },
    ]);
    const [one, two, three] = [{}, {}, {}];
    expect([one, two, three].map((c) => endpoints.forConnection(c)!.name)).toEqual(['a', 'b', 'c']);
    // the same connection stays on its replica, whatever the draws
    expect([one, two, three, one].map((c) => endpoints.forConnection(c)!.name)).toEqual(['a', 'b', 'c', 'a']);
    // its replica left: the connection gets a new one (0.7 of the two left: c) and keeps it
    endpoints.set([
      { name: 'b', port: 2 },
      { name: 'c', port: 3 },
    ]);
    expect(endpoints.forConnection(one)!.name).toBe('c');
    expect(endpoints.forConnection(one)!.name).toBe('c');
    expect(draws).toEqual([]);
    endpoints.close();
  });

  it('routes only to the replicas currently in the set, and to none when it is empty', () => {
    const endpoints = new Endpoints();
    endpoints.set([
      { name: 'a', port: 1 },
      { name: 'b', port: 2 },
    ]);
    endpoints.set([{ name: 'b', port: 2 }]);
    expect(new Set(Array.from({ length: 4 }, () => endpoints.pick()!.name))).toEqual(new Set(['b']));
    expect(endpoints.pick('b')).toBeUndefined();
    endpoints.set([]);
    expect(endpoints.pick()).toBeUndefined();
  });

  it('keeps the agent (and its connections) of a replica that stays', () => {
    const endpoints = new Endpoints();
    endpoints.set([{ name: 'a', port: 1 }]);
    const agent = endpoints.pick()!.agent;
    endpoints.set([
      { name: 'a', port: 1 },
      { name: 'b', port: 2 },
    ]);
    expect(endpoints.pick('b')!.agent).toBe(agent);
    endpoints.close();
  });
});

/** One request on a connection of its own (no keep-alive), as a retry or hedge of a client sends it. */
function onNewConnection(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

describe('front proxy', () => {
  const replicas: http.Server[] = [];
  const ports: Record<string, number> = {};
  // Draws alternate low and high: with two replicas, new connections go to the first, the second, ...
  let draw = 0;
  const endpoints = new Endpoints(() => (draw++ % 2 === 0 ? 0.25 : 0.75));
  const front = createFrontProxy('order', endpoints);
  let url = '';

  beforeAll(async () => {
    for (const name of ['r1', 'r2']) {
      const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (c: Buffer) => chunks.push(c));
        request.on('end', () => {
          response.writeHead(request.method === 'POST' ? 201 : 200, {
            'content-type': 'application/json',
            'x-served-by': name,
          });
          response.end(
            JSON.stringify({
              name,
              requestId: request.headers['x-request-id'],
              body: Buffer.concat(chunks).toString(),
            }),
          );
        });
      });
      ports[name] = await listen(server);
      replicas.push(server);
    }
    url = `http://127.0.0.1:${await listen(front)}`;
  });
  afterAll(async () => {
    await close(front);
    endpoints.close();
    for (const server of replicas) await close(server);
  });

  it('answers 503 problem+json at once when no replica is ready', async () => {
    // No replica ever becomes ready here: an answer at all means the front did not wait for one.
    endpoints.set([]);
    const response = await fetch(`${url}/orders`, { headers: { 'x-request-id': 'req-1' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('x-request-id')).toBe('req-1');
    expect(await response.json()).toMatchObject({ status: 503, detail: 'no ready replica of order' });
  });

  it('spreads connections over ready replicas, passing bodies and x-request-id through', async () => {
    endpoints.set([
      { name: 'r1', port: ports['r1']! },
      { name: 'r2', port: ports['r2']! },
    ]);
    draw = 0;
    const served: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await onNewConnection(`${url}/orders`, {
        method: 'POST',
        body: `{"n":${i}}`,
        headers: { 'x-request-id': `id-${i}` },
      });
      expect(response.status).toBe(201);
      const body = JSON.parse(response.body) as { name: string; requestId: string; body: string };
      expect(body.requestId).toBe(`id-${i}`);
      expect(body.body).toBe(`{"n":${i}}`);
      served.push(body.name);
    }
    expect(served).toEqual(['r1', 'r2', 'r1', 'r2']);
  });

  it('sends every request of one keep-alive connection to the same replica', async () => {
    endpoints.set([
      { name: 'r1', port: ports['r1']! },
      { name: 'r2', port: ports['r2']! },
    ]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const served = new Set<string>();
    const sockets = new Set<unknown>();
    for (let i = 0; i < 6; i += 1) {
      const name = await new Promise<string>((resolve, reject) => {
        const request = http.get(`${url}/products`, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(String(response.headers['x-served-by'])));
        });
        request.on('socket', (socket) => sockets.add(socket));
        request.on('error', reject);
      });
      served.add(name);
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
    expect(served.size).toBe(1);
  });

  it('retries an idempotent request (or a POST with an Idempotency-Key) on another replica when the connection fails, not a plain POST', async () => {
    // A replica whose connections fail: this test holds the port and closes every connection at once.
    const dead = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    endpoints.set([
      { name: 'dead', port: (dead.address() as AddressInfo).port },
      { name: 'r1', port: ports['r1']! },
    ]);
    draw = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await onNewConnection(`${url}/products`)).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const posts: number[] = [];
    for (let i = 0; i < 4; i += 1)
      posts.push((await onNewConnection(`${url}/orders`, { method: 'POST', body: '{}' })).status);
    // every other new connection goes to the dead replica: those plain POSTs fail
    expect(posts).toEqual([502, 201, 502, 201]);
    const keyed: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await onNewConnection(`${url}/orders`, {
        method: 'POST',
        body: `{"k":${i}}`,
        headers: { 'idempotency-key': `k-${i}` },
      });
      expect((JSON.parse(response.body) as { body: string }).body).toBe(`{"k":${i}}`);
      keyed.push(response.status);
    }
    expect(keyed).toEqual([201, 201, 201, 201]);
    await new Promise((resolve) => dead.close(resolve));
  });

  it('drops a request whose client left, and never sends it to another replica', async () => {
    // A frozen replica: it accepts and reads, and never answers.
    let frozenSocket: net.Socket | undefined;
    let received!: () => void;
    const requestArrived = new Promise<void>((resolve) => (received = resolve));
    const frozen = net.createServer((socket) => {
      frozenSocket = socket;
      socket.on('data', () => received());
    });
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    endpoints.set([
      { name: 'frozen', port: (frozen.address() as AddressInfo).port },
      { name: 'r1', port: ports['r1']! },
    ]);
    draw = 0;
    const served: string[] = [];
    const seen = (request: http.IncomingMessage) => served.push(String(request.headers['x-request-id']));
    replicas[0]!.on('request', seen);
    const abandoned = http.request(`${url}/reservations`, {
      method: 'POST',
      headers: { 'idempotency-key': 'key-1', 'x-request-id': 'abandoned' },
      agent: false,
    });
    abandoned.on('error', () => undefined);
    abandoned.end('{}');
    await requestArrived;
    const upstreamClosed = new Promise((resolve) => frozenSocket!.once('close', resolve));
    abandoned.destroy(); // the client's attempt timed out
    await upstreamClosed;
    // the next connection goes to r1; by its answer, a resend of the abandoned request would have arrived
    const next = await onNewConnection(`${url}/products`, { headers: { 'x-request-id': 'next' } });
    expect(JSON.parse(next.body)).toMatchObject({ name: 'r1' });
    replicas[0]!.off('request', seen);
    await new Promise((resolve) => frozen.close(resolve));
    expect(served).toEqual(['next']);
  });
});
