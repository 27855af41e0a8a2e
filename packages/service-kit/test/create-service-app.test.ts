import { describe, expect, it } from '@jest/globals';
import type { Express } from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { z } from 'zod';
import { CircuitOpenError, HealthRegistry, TimeoutError } from '@self-healing-shop/resilience';
import { createServiceApp } from '../src/create-service-app.ts';
import { ConflictError } from '../src/problem.ts';
import { parseOrThrow } from '../src/validate.ts';

const logger = pino({ level: 'silent' });

function build(): { app: Express; registry: Registry; health: HealthRegistry } {
  const registry = new Registry();
  const health = new HealthRegistry({ logger, registry });
  const app = createServiceApp({
    service: 'demo',
    logger,
    registry,
    health,
    routes: (app) => {
      app.post('/things', (req, res) => {
        const body = parseOrThrow(
          z.object({ name: z.string().min(1), count: z.number().int().positive() }),
          req.body,
        );
        res.status(201).json(body);
      });
      app.get('/things/:id', (req, res) => {
        res.json({ id: req.params.id });
      });
      app.get('/conflict', () => {
        throw new ConflictError('that thing exists', [{ path: 'name', message: 'taken' }]);
      });
      app.get('/open', () => {
        throw new CircuitOpenError('inventory', 'open', 2_500);
      });
      app.get('/slow', () => {
        throw new TimeoutError('inventory', 300);
      });
      app.get('/boom', async () => {
        throw new Error('secret internals');
      });
    },
  });
  return { app, registry, health };
}

describe('createServiceApp', () => {
  it('answers liveness without running any check', async () => {
    const { app, health } = build();
    health.register({
      name: 'database',
      critical: true,
      check: async () => Promise.reject(new Error('down')),
    });
    await request(app).get('/health').expect(200, { status: 'healthy', checks: [] });
  });

  it('answers readiness 503 with the failing check when a critical dependency is down', async () => {
    const { app, health } = build();
    health.register({
      name: 'database',
      critical: true,
      check: async () => Promise.reject(new Error('down')),
    });
    const res = await request(app).get('/ready').expect(503);
    expect(res.body).toMatchObject({
      status: 'unhealthy',
      checks: [{ name: 'database', status: 'unhealthy', message: 'down' }],
    });
  });

  it('stays ready while degraded', async () => {
    const { app, health } = build();
    health.register({ name: 'circuit:notification', critical: false, check: async () => ({ ok: false }) });
    await request(app).get('/ready').expect(200);
  });

  it('keeps the caller x-request-id and makes one when it is missing or malformed', async () => {
    const { app } = build();
    const given = await request(app).get('/things/1').set('x-request-id', 'abc-123');
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await request(app).get('/things/1').set('x-request-id', 'bad id with spaces');
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a validation failure with 400 problem+json naming every bad field', async () => {
    const { app } = build();
    const res = await request(app).post('/things').send({ name: '', count: 1.5 }).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: 'urn:problem:validation',
      title: 'Invalid request',
      status: 400,
      instance: '/things',
    });
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['count', 'name']);
  });

  it('answers malformed JSON with 400 and oversized bodies with 413', async () => {
    const { app } = build();
    const malformed = await request(app)
      .post('/things')
      .set('content-type', 'application/json')
      .send('{"name":')
      .expect(400);
    expect(malformed.body).toMatchObject({ type: 'urn:problem:malformed-json', status: 400 });
    const big = await request(app)
      .post('/things')
      .send({ name: 'x'.repeat(70_000), count: 1 })
      .expect(413);
    expect(big.body.detail).toContain('65536');
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const { app } = build();
    const res = await request(app).delete('/nowhere').expect(404);
    expect(res.body).toMatchObject({ status: 404, detail: 'No route for DELETE /nowhere' });
  });

  it('maps domain errors to their status with their errors list', async () => {
    const { app } = build();
    const res = await request(app).get('/conflict').expect(409);
    expect(res.body).toMatchObject({
      title: 'Conflict',
      detail: 'that thing exists',
      errors: [{ path: 'name', message: 'taken' }],
    });
  });

  it('maps an open circuit to 503 with Retry-After and a timeout to 504', async () => {
    const { app } = build();
    const open = await request(app).get('/open').expect(503);
    expect(open.headers['retry-after']).toBe('3');
    expect(open.body.detail).toContain('inventory');
    await request(app).get('/slow').expect(504);
  });

  it('hides unexpected errors behind a 500 that quotes the request id', async () => {
    const { app } = build();
    const res = await request(app).get('/boom').set('x-request-id', 'req-9').expect(500);
    expect(res.body.detail).toContain('req-9');
    expect(JSON.stringify(res.body)).not.toContain('secret internals');
  });

  it('labels request durations with the route pattern, never the raw path', async () => {
    const { app, registry } = build();
    await request(app).get('/things/42');
    await request(app).get('/things/43');
    await request(app).get('/nowhere/7');
    const text = await registry.getSingleMetricAsString('http_server_request_duration_seconds');
    expect(text).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="/things/:id",status_code="200"} 2',
    );
    expect(text).toContain('route="unmatched",status_code="404"');
    expect(text).not.toContain('/things/42');
  });

  it('serves the registry on /metrics in the Prometheus text format', async () => {
    const { app } = build();
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE http_server_request_duration_seconds histogram');
  });
});

describe('createServiceApp admin routes', () => {
  async function adminApp(adminToken: string | undefined) {
    const { createServiceContext } = await import('../src/service-context.ts');
    const context = createServiceContext({
      service: 'demo',
      logLevel: 'silent',
      defaultMetrics: false,
      faultInjection: { enabled: true },
      adminToken,
    });
    const app = createServiceApp({
      ...context,
      faultInjection: context.faults,
      audit: (router) => router.get('/things', (_req, res) => void res.json({ items: [{ id: 't-1' }] })),
      routes: (app) => app.get('/things', (_req, res) => void res.json({ items: [] })),
    });
    return { app, context };
  }

  it('serves the fault API behind the x-admin-token header and injects the faults it is given', async () => {
    const { app, context } = await adminApp('test-token-123');
    await request(app).get('/things').expect(200);
    const missing = await request(app)
      .post('/admin/faults')
      .send({ type: 'error', route: '/things', status: 503 })
      .expect(401);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.body).toMatchObject({ type: 'urn:problem:unauthorized', status: 401 });
    expect(missing.body.detail).toContain('x-admin-token');
    // A bearer token is not the admin token's header (kube-apiserver strips Authorization).
    await request(app)
      .post('/admin/faults')
      .set('authorization', 'Bearer test-token-123')
      .send({ type: 'error', route: '/things', status: 503 })
      .expect(401);
    await request(app)
      .post('/admin/faults')
      .set('x-admin-token', 'test-token-124')
      .send({ type: 'error', route: '/things', status: 503 })
      .expect(401);
    await request(app)
      .post('/admin/faults')
      .set('x-admin-token', 'test-token-123')
      .send({ type: 'error', route: '/things', status: 503 })
      .expect(201);
    await request(app).get('/things').expect(503);
    await request(app).get('/health').expect(200);
    expect(await context.registry.getSingleMetricAsString('faults_injected_total')).toContain(
      'faults_injected_total{type="error"} 1',
    );
    context.faults.dispose();
  });

  it('serves the audit routes under /admin/audit behind the same guard', async () => {
    const { app, context } = await adminApp('test-token-123');
    await request(app).get('/admin/audit/things').expect(401);
    const res = await request(app)
      .get('/admin/audit/things')
      .set('x-admin-token', 'test-token-123')
      .expect(200);
    expect(res.body).toEqual({ items: [{ id: 't-1' }] });
    await request(app).get('/admin/audit/nothing').set('x-admin-token', 'test-token-123').expect(404);
    context.faults.dispose();
  });

  it('closes the admin API with 403 naming ADMIN_TOKEN when the replica has no token', async () => {
    const { app, context } = await adminApp(undefined);
    for (const path of ['/admin/faults', '/admin/audit/things']) {
      const res = await request(app).get(path).set('x-admin-token', 'anything-at-all').expect(403);
      expect(res.body).toMatchObject({ type: 'urn:problem:admin-disabled', status: 403 });
      expect(res.body.detail).toContain('ADMIN_TOKEN');
    }
    await request(app).get('/things').expect(200);
    context.faults.dispose();
  });
});
