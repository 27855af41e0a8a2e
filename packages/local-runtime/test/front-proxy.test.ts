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
  it('picks ready replicas round robin', () => {
    const endpoints = new Endpoints();
    endpoints.set([
      { name: 'a', port: 1 },
      { name: 'b', port: 2 },
      { name: 'c', port: 3 },
    ]);
    expect(Array.from({ length: 6 }, () => endpoints.pick()!.name)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
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

describe('front proxy', () => {
  const replicas: http.Server[] = [];
  const ports: Record<string, number> = {};
  const endpoints = new Endpoints();
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

  it('spreads requests over ready replicas, passing bodies and x-request-id through', async () => {
    endpoints.set([
      { name: 'r1', port: ports['r1']! },
      { name: 'r2', port: ports['r2']! },
    ]);
    const served: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await fetch(`${url}/orders`, {
        method: 'POST',
        body: `{"n":${i}}`,
        headers: { 'x-request-id': `id-${i}` },
      });
      expect(response.status).toBe(201);
      const body = (await response.json()) as { name: string; requestId: string; body: string };
      expect(body.requestId).toBe(`id-${i}`);
      expect(body.body).toBe(`{"n":${i}}`);
      served.push(body.name);
    }
    expect(served.sort()).toEqual(['r1', 'r1', 'r2', 'r2']);
  });

  it('retries an idempotent request (or a POST with an Idempotency-Key) on another replica when the connection fails, not a plain POST', async () => {
    // A replica whose connections fail: this test holds the port and closes every connection at once.
    const dead = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    endpoints.set([
      { name: 'dead', port: (dead.address() as AddressInfo).port },
      { name: 'r1', port: ports['r1']! },
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await fetch(`${url}/products`)).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const posts: number[] = [];
    for (let i = 0; i < 4; i += 1)
      posts.push((await fetch(`${url}/orders`, { method: 'POST', body: '{}' })).status);
    expect(posts.sort()).toEqual([201, 201, 502, 502]);
    const keyed: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await fetch(`${url}/orders`, {
        method: 'POST',
        body: `{"k":${i}}`,
        headers: { 'idempotency-key': `k-${i}` },
      });
      expect(((await response.json()) as { body: string }).body).toBe(`{"k":${i}}`);
      keyed.push(response.status);
    }
    expect(keyed).toEqual([201, 201, 201, 201]);
    await new Promise((resolve) => dead.close(resolve));
  });
});
