import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { AuditNotification, AuditPage } from '@self-healing-shop/contracts';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { allAuditPages, promtoolCheckMetrics } from '@self-healing-shop/service-kit/testing';
import { body, orderId, startNotification, type TestNotification } from './support.ts';

const TOKEN = 'audit-token-123';
let pg: RunningPostgres;
let service: TestNotification;

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  service = await startNotification(pg.url, { adminToken: TOKEN, defaultMetrics: true });
});

afterAll(async () => {
  await service?.close();
  await pg?.stop();
});

describe('audit API', () => {
  it('refuses a request without the admin token', async () => {
    await request(service.app).get('/admin/audit/notifications').expect(401);
    await request(service.app)
      .get('/admin/audit/notifications')
      .set('x-admin-token', 'wrong-token-1')
      .expect(401);
  });

  it('lists every notification once, oldest first, across pages', async () => {
    const ids = Array.from({ length: 7 }, () => orderId('audit'));
    for (const id of ids) await request(service.app).post('/notifications').send(body(id)).expect(201);
    // A redelivery records nothing new.
    await request(service.app).post('/notifications').send(body(ids[0]!)).expect(200);

    const { items: seen, pages } = await allAuditPages(async (after) => {
      const res = await request(service.app)
        .get('/admin/audit/notifications')
        .query({ limit: 3, ...(after ? { after } : {}) })
        .set('x-admin-token', TOKEN)
        .expect(200);
      return res.body as AuditPage<AuditNotification>;
    });
    expect(pages).toBe(3);
    expect(seen.map((n) => n.orderId)).toEqual(ids);
    for (const n of seen) {
      expect(n).toEqual({ id: expect.any(String), orderId: n.orderId, kind: 'order-confirmation' });
    }
  });

  it('answers 400 for a limit above 1000', async () => {
    await request(service.app)
      .get('/admin/audit/notifications')
      .query({ limit: 1001 })
      .set('x-admin-token', TOKEN)
      .expect(400);
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    const metrics = await request(service.app).get('/metrics').expect(200);
    expect(metrics.text).toContain('notifications_total');
    expect(await promtoolCheckMetrics(metrics.text)).toBe('');
  });
});
