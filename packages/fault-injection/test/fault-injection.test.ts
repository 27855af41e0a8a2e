import { afterEach, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import {
  createFaultInjection,
  InvalidFaultSpecError,
  parseFaultSpec,
  type Fault,
  type FaultInjectionOptions,
} from '../src/fault-injection.ts';
import { capturingLogger, injectedCounts, startApp, type TestApp } from './fault-injection-helpers.ts';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function app(options: Partial<FaultInjectionOptions> = {}): Promise<TestApp> {
  current = await startApp(options);
  return current;
}

async function addFault(t: TestApp, body: object): Promise<Fault> {
  const res = await request(t.server).post('/admin/faults').send(body).expect(201);
  return res.body as Fault;
}

describe('fault injection admin API', () => {
  it('creates a fault with its defaults, id and timestamps, and lists it', async () => {
    const t = await app({ clock: { now: () => Date.parse('2026-11-02T10:00:00.000Z') } });
    const res = await request(t.server)
      .post('/admin/faults')
      .send({ type: 'error', route: '/orders', method: 'post', durationMs: 60_000 })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'error',
      route: '/orders',
      method: 'POST',
      probability: 1,
      status: 503,
      durationMs: 60_000,
      createdAt: '2026-11-02T10:00:00.000Z',
      expiresAt: '2026-11-02T10:01:00.000Z',
    });
    expect(res.headers.location).toBe(`/admin/faults/${res.body.id}`);

    const list = await request(t.server).get('/admin/faults').expect(200);
    expect(list.body).toEqual({ items: [res.body] });
    expect(t.lines.find((l) => l.msg === 'fault added')).toMatchObject({ fault: res.body });
  });

  it('gives a fault without durationMs no expiry', async () => {
    const t = await app();
    const fault = await addFault(t, { type: 'abort' });
    expect(fault.expiresAt).toBeNull();
    expect(fault).not.toHaveProperty('durationMs');
  });

  it('deletes one fault by id, then answers 404 for it', async () => {
    const t = await app();
    const a = await addFault(t, { type: 'error', route: '/orders' });
    const b = await addFault(t, { type: 'error', route: '/products' });
    await request(t.server).delete(`/admin/faults/${a.id}`).expect(204);
    expect(t.faults.list()).toEqual([b]);
    const res = await request(t.server).delete(`/admin/faults/${a.id}`).expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, title: 'Not found', detail: `no fault with id ${a.id}` });
    expect(t.lines.find((l) => l.msg === 'fault removed')).toMatchObject({
      faultId: a.id,
      reason: 'deleted',
    });
  });

  it('deletes every fault', async () => {
    const t = await app();
    await addFault(t, { type: 'error' });
    await addFault(t, { type: 'latency', latencyMs: 10 });
    await request(t.server).delete('/admin/faults').expect(204);
    expect((await request(t.server).get('/admin/faults').expect(200)).body).toEqual({ items: [] });
    await request(t.server).get('/orders').expect(200);
  });

  it.each([
    [{ type: 'boom' }, 'type', 'type must be one of latency, error, abort, cpu, freeze'],
    [{ type: 'latency' }, 'latencyMs', 'latencyMs is required for a latency fault'],
    [{ type: 'latency', latencyMs: -5 }, 'latencyMs', 'latencyMs must be >= 1'],
    [{ type: 'error', probability: 1.5 }, 'probability', 'probability must be between 0 and 1'],
    [{ type: 'error', status: 200 }, 'status', 'status must be an HTTP error status (400..599)'],
    [{ type: 'error', route: 'orders' }, 'route', 'route must be a path starting with "/" (no query string)'],
    [
      { type: 'error', method: 'FETCH' },
      'method',
      'method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    ],
    [{ type: 'error', latency_ms: 10 }, 'latency_ms', 'unknown field "latency_ms"'],
    [{ type: 'abort', latencyMs: 10 }, 'latencyMs', 'latencyMs does not apply to abort faults'],
    [{ type: 'cpu' }, 'durationMs', 'durationMs is required for a cpu fault'],
    [{ type: 'cpu', durationMs: 100, route: '/orders' }, 'route', 'route does not apply to cpu faults'],
    [{ type: 'error', durationMs: 'soon' }, 'durationMs', 'durationMs must be a number of milliseconds'],
  ])('rejects %j with 400 naming %s', async (body, path, message) => {
    const t = await app();
    const res = await request(t.server).post('/admin/faults').send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual({
      type: 'urn:problem:validation',
      title: 'Invalid request',
      status: 400,
      detail: `invalid fault: ${path}: ${message}`,
      errors: [{ path, message }],
    });
    expect(t.faults.list()).toEqual([]);
  });

  it('rejects a body that is not JSON with 400 problem+json', async () => {
    const t = await app();
    const malformed = await request(t.server)
      .post('/admin/faults')

      .set('Content-Type', 'application/json')
      .send('{"type": ')
      .expect(400);
    expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(malformed.body).toMatchObject({ type: 'urn:problem:validation', errors: [{ path: '(root)' }] });

    const text = await request(t.server)
      .post('/admin/faults')

      .set('Content-Type', 'text/plain')
      .send('error')
      .expect(400);
    expect(text.body.errors).toEqual([{ path: '(root)', message: 'the body must be a JSON object' }]);
  });
});

describe('fault injection middleware', () => {
  it('answers an error fault with its status as problem+json', async () => {
    const t = await app();
    const fault = await addFault(t, { type: 'error', status: 500 });
    const res = await request(t.server).get('/orders').expect(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual({
      type: 'urn:problem:injected-fault',
      title: 'Injected fault',
      status: 500,
      detail: `injected fault ${fault.id}`,
    });
  });

  it('delays a request by latencyMs, then lets it through', async () => {
    const t = await app();
    await addFault(t, { type: 'latency', latencyMs: 500, route: '/orders' });
    // Order of events, not elapsed time: the delayed request is overtaken by one sent after it.
    const answered: string[] = [];
    const delayed = request(t.server)
      .get('/orders')
      .expect(200)
      .then((res) => {
        answered.push('/orders');
        return res;
      });
    await waitForLog(t, 'fault injected');
    await request(t.server).get('/products').expect(200);
    answered.push('/products');
    const res = await delayed;
    expect(answered).toEqual(['/products', '/orders']);
    expect(res.body).toEqual({ items: [] });
  });

  it('adds the latency before an error when both match', async () => {
    const t = await app();
    await addFault(t, { type: 'latency', latencyMs: 500, route: '/products' });
    await addFault(t, { type: 'error', status: 502, route: '/products' });
    const answered: string[] = [];
    const delayed = request(t.server)
      .get('/products')
      .expect(502)
      .then(() => answered.push('/products'));
    await waitForLog(t, 'fault injected');
    await request(t.server).get('/orders').expect(200);
    answered.push('/orders');
    await delayed;
    expect(answered).toEqual(['/orders', '/products']);
    expect(await injectedCounts(t.registry)).toEqual({ latency: 1, error: 1, abort: 0, cpu: 0, freeze: 0 });
  });

  it('destroys the connection without a response for an abort fault', async () => {
    const t = await app();
    await addFault(t, { type: 'abort', route: '/orders' });
    await expect(request(t.server).get('/orders')).rejects.toThrow(/socket hang up|ECONNRESET/);
    await request(t.server).get('/products').expect(200);
    expect(await injectedCounts(t.registry)).toEqual({ latency: 0, error: 0, abort: 1, cpu: 0, freeze: 0 });
  });

  it('matches the route as a path prefix on whole segments and the method exactly', async () => {
    const t = await app();
    await addFault(t, { type: 'error', route: '/orders', method: 'GET' });
    await request(t.server).get('/orders').expect(503);
    await request(t.server).get('/orders/o-7?verbose=1').expect(503);
    await request(t.server).post('/orders').send({}).expect(201);
    await request(t.server).get('/orders-archive').expect(200);
    await request(t.server).get('/products').expect(200);
  });

  it('spares probes, metrics and the admin API unless a fault names them', async () => {
    const t = await app();
    await addFault(t, { type: 'error' });
    await request(t.server).get('/orders').expect(503);
    for (const path of ['/health', '/ready', '/metrics']) await request(t.server).get(path).expect(200);
    await addFault(t, { type: 'error', route: '/health' });
    await request(t.server).get('/health').expect(503);
    await request(t.server).get('/ready').expect(200);
  });

  it('never faults the admin API, even for a fault on every route', async () => {
    const t = await app();
    await addFault(t, { type: 'abort', route: '/' });
    await expect(request(t.server).get('/metrics')).rejects.toThrow(/socket hang up|ECONNRESET/);
    await request(t.server).delete('/admin/faults').expect(204);
    await request(t.server).get('/metrics').expect(200);
  });

  it('injects with the given probability, drawing from the injected random', async () => {
    const draws = [0.2, 0.7, 0.49, 0.5];
    const t = await app({ random: () => draws.shift() ?? 0.99 });
    await addFault(t, { type: 'error', probability: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(t.server).get('/orders')).status);
    expect(statuses).toEqual([503, 200, 503, 200]);
    expect(draws).toEqual([]);
    expect(await injectedCounts(t.registry)).toEqual({ latency: 0, error: 2, abort: 0, cpu: 0, freeze: 0 });
  });

  it('never injects a fault of probability 0 and always one of probability 1, without drawing', async () => {
    let draws = 0;
    const t = await app({
      random: () => {
        draws++;
        return 0;
      },
    });
    await addFault(t, { type: 'abort', probability: 0 });
    await addFault(t, { type: 'error', probability: 1, status: 429 });
    await request(t.server).get('/orders').expect(429);
    expect(draws).toBe(0);
  });

  it('stops applying a fault once its expiry time has passed on the clock', async () => {
    let now = Date.parse('2026-11-02T10:00:00.000Z');
    const t = await app({ clock: { now: () => now } });
    await addFault(t, { type: 'error', durationMs: 1000 });
    now += 999;
    await request(t.server).get('/orders').expect(503);
    now += 1;
    await request(t.server).get('/orders').expect(200);
    expect(t.faults.list()).toEqual([]);
    expect(t.lines.find((l) => l.msg === 'fault removed')).toMatchObject({
      type: 'error',
      reason: 'expired',
    });
  });

  it('passes requests through untouched when no fault is active', async () => {
    const t = await app();
    await request(t.server).post('/orders').send({}).expect(201);
    expect(await injectedCounts(t.registry)).toEqual({ latency: 0, error: 0, abort: 0, cpu: 0, freeze: 0 });
  });
});

describe('createFaultInjection', () => {
  it('removes an expired fault on its timer', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-02T10:00:00.000Z') });
    const { logger, lines } = capturingLogger();
    const faults = createFaultInjection({ enabled: true, registry: new Registry(), logger });
    try {
      const fault = faults.add({ type: 'latency', latencyMs: 50, durationMs: 5000 });
      expect(fault.expiresAt).toBe('2026-11-02T10:00:05.000Z');
      jest.advanceTimersByTime(4999);
      expect(lines.some((l) => l.msg === 'fault removed')).toBe(false);
      jest.advanceTimersByTime(1);
      // The timer removed it (no list() call has run the expiry check yet).
      expect(lines.find((l) => l.msg === 'fault removed')).toMatchObject({
        faultId: fault.id,
        reason: 'expired',
      });
      expect(faults.list()).toEqual([]);
    } finally {
      faults.dispose();
      jest.useRealTimers();
    }
  });

  it('clears every fault and timer on dispose', () => {
    jest.useFakeTimers();
    const { logger } = capturingLogger();
    const faults = createFaultInjection({ enabled: true, registry: new Registry(), logger });
    try {
      faults.add({ type: 'error', durationMs: 10_000 });
      faults.add({ type: 'abort' });
      expect(jest.getTimerCount()).toBe(1);
      faults.dispose();
      expect(faults.list()).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('validates programmatic specs with the same rules as the admin API', () => {
    const { logger } = capturingLogger();
    const faults = createFaultInjection({ enabled: true, registry: new Registry(), logger });
    try {
      faults.add({ type: 'latency' });
      throw new Error('add accepted a latency fault without latencyMs');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidFaultSpecError);
      expect((error as InvalidFaultSpecError).errors).toEqual([
        { path: 'latencyMs', message: 'latencyMs is required for a latency fault' },
      ]);
    } finally {
      faults.dispose();
    }
    expect(parseFaultSpec({ type: 'abort', method: 'delete' })).toEqual({
      type: 'abort',
      method: 'DELETE',
      probability: 1,
    });
  });

  it('shares the counter between instances on one registry', async () => {
    const registry = new Registry();
    const { logger } = capturingLogger();
    const a = createFaultInjection({ enabled: true, registry, logger });
    const b = createFaultInjection({ enabled: true, registry, logger });
    a.dispose();
    b.dispose();
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['faults_injected_total']);
    expect(await injectedCounts(registry)).toEqual({ latency: 0, error: 0, abort: 0, cpu: 0, freeze: 0 });
  });
});

describe('fault injection when disabled', () => {
  it('answers 404 on the admin API and lets every request through', async () => {
    const registry = new Registry();
    const { logger } = capturingLogger();
    const faults = createFaultInjection({ enabled: false, registry, logger });
    expect(faults.enabled).toBe(false);
    const app = express();
    app.use(faults.adminRouter);
    app.use(faults.middleware);
    app.get('/orders', (_req, res) => void res.json({ items: [] }));
    const server = app.listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const notFound = await request(server).get('/admin/faults').expect(404);
      expect(notFound.headers['content-type']).toMatch(/^application\/problem\+json/);
      await request(server).post('/admin/faults').send({ type: 'error' }).expect(404);
      await request(server).delete('/admin/faults/x').expect(404);
      await request(server).get('/orders').expect(200);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(faults.list()).toEqual([]);
    expect(() => faults.add({ type: 'error' })).toThrow('fault injection is disabled');
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});

/** Waits until the replica logged `msg` (the fault middleware logs `fault injected` at debug level). */
async function waitForLog(t: TestApp, msg: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!t.lines.some((l) => l.msg === msg)) {
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
