import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { ALERTMANAGER_INSTALL_HINT, PROMETHEUS_INSTALL_HINT } from '../src/problem.ts';
import { alertmanagerRoutes } from '../src/routes/alertmanager-routes.ts';
import { prometheusRoutes } from '../src/routes/prometheus-routes.ts';

const warnings: unknown[] = [];
const logger = { warn: (...args: unknown[]) => void warnings.push(args) };

function appWith(prometheusUrl: string | null, alertmanagerUrl: string | null) {
  const app = express();
  app.use('/api/prometheus', prometheusRoutes(prometheusUrl, logger));
  app.use('/api/alertmanager', alertmanagerRoutes(alertmanagerUrl, logger));
  return app;
}

let upstream: Server;
let upstreamUrl: string;
const seen: string[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'success', path: req.url }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
});

describe('the console proxies to Prometheus and Alertmanager', () => {
  it('passes a read endpoint on with its query string', async () => {
    const app = appWith(upstreamUrl, upstreamUrl);
    const prom = await request(app).get('/api/prometheus/api/v1/query?query=up').expect(200);
    expect(prom.body).toEqual({ status: 'success', path: '/api/v1/query?query=up' });
    const am = await request(app).get('/api/alertmanager/api/v2/alerts?active=true').expect(200);
    expect(am.body).toEqual({ status: 'success', path: '/api/v2/alerts?active=true' });
  });

  it('answers 404 for any other path without asking the upstream', async () => {
    const app = appWith(upstreamUrl, upstreamUrl);
    const before = seen.length;
    const prom = await request(app).get('/api/prometheus/api/v1/admin/tsdb/snapshot').expect(404);
    expect(prom.body).toMatchObject({ status: 404, title: 'Not a Prometheus read endpoint' });
    expect(prom.body.detail).toContain('/api/prometheus/api/v1/admin/tsdb/snapshot is not proxied');
    const am = await request(app).get('/api/alertmanager/api/v2/silence/x').expect(404);
    expect(am.body).toMatchObject({ status: 404, title: 'Not an Alertmanager read endpoint' });
    expect(seen.length).toBe(before);
  });

  it('answers 503 with the install command when the runtime runs none', async () => {
    const app = appWith(null, null);
    const prom = await request(app).get('/api/prometheus/api/v1/query').expect(503);
    expect(prom.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(prom.body).toMatchObject({
      title: 'Prometheus is not running',
      detail: `The local runtime runs no Prometheus. ${PROMETHEUS_INSTALL_HINT}`,
      install: PROMETHEUS_INSTALL_HINT,
    });
    const am = await request(app).get('/api/alertmanager/api/v2/alerts').expect(503);
    expect(am.body).toMatchObject({
      title: 'Alertmanager is not running',
      install: ALERTMANAGER_INSTALL_HINT,
    });
  });

  it('answers 503 and logs a warning when the upstream does not answer', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const app = appWith(deadUrl, deadUrl);
    const before = warnings.length;
    const prom = await request(app).get('/api/prometheus/api/v1/query').expect(503);
    expect(prom.body).toMatchObject({
      title: 'Prometheus is not reachable',
      install: PROMETHEUS_INSTALL_HINT,
    });
    expect(prom.body.detail).toContain(`Is it running? ${PROMETHEUS_INSTALL_HINT}`);
    const am = await request(app).get('/api/alertmanager/api/v2/status').expect(503);
    expect(am.body).toMatchObject({
      title: 'Alertmanager is not reachable',
      install: ALERTMANAGER_INSTALL_HINT,
    });
    expect(warnings.length).toBe(before + 2);
  });
});
