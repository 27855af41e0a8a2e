import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { AuditOrder, AuditOrderSummary, AuditPage } from '@self-healing-shop/contracts';
import { allAuditPages, promtoolCheckMetrics } from '@self-healing-shop/service-kit/testing';
import { eventually, orderBody, setStock, startPlatform, type Platform } from './support.ts';

const TOKEN = 'audit-token-123';
let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform({
    adminToken: TOKEN,
    defaultMetrics: true,
    app: { sweeper: { pendingTimeoutMs: 7_000 } },
  });
});

afterAll(async () => {
  await platform?.close();
});

const app = () => platform.order.app;

async function allOrders(limit: number): Promise<{ items: AuditOrder[]; pages: number }> {
  return allAuditPages(async (after) => {
    const res = await request(app())
      .get('/admin/audit/orders')
      .query({ limit, ...(after ? { after } : {}) })
      .set('x-admin-token', TOKEN)
      .expect(200);
    return res.body as AuditPage<AuditOrder>;
  });
}

describe('order audit API', () => {
  it('refuses a request without the admin token', async () => {
    await request(app()).get('/admin/audit/orders').expect(401);
    await request(app()).get('/admin/audit/summary').set('x-admin-token', 'not-the-token').expect(401);
  });

  it('lists every order, confirmed and rejected, oldest first across pages', async () => {
    await setStock(platform.inventory, 'p-001', 3);
    const placed: Array<{ id: string; status: string }> = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(app())
        .post('/orders')
        .send(orderBody([{ productId: 'p-001', quantity: 1 }]));
      placed.push({ id: res.body.id ?? '', status: res.status === 201 ? 'confirmed' : 'rejected' });
    }
    expect(placed.map((p) => p.status)).toEqual([
      'confirmed',
      'confirmed',
      'confirmed',
      'rejected',
      'rejected',
    ]);

    const { items: orders, pages } = await allOrders(2);
    expect(pages).toBeGreaterThan(2);
    const confirmed = orders.filter((o) => o.status === 'confirmed').map((o) => o.id);
    expect(confirmed).toEqual(placed.filter((p) => p.status === 'confirmed').map((p) => p.id));
    expect(orders.filter((o) => o.status === 'rejected')).toHaveLength(2);
    for (const o of orders) {
      expect(o.items).toEqual([{ productId: 'p-001', quantity: 1 }]);
      expect(Date.parse(o.createdAt)).not.toBeNaN();
    }
  });

  it('summarises pending orders, the outbox and the sweeper timeout', async () => {
    await eventually('outbox drained', async () => {
      const res = await request(app()).get('/admin/audit/summary').set('x-admin-token', TOKEN).expect(200);
      return (res.body as AuditOrderSummary).outboxPending === 0;
    });
    const res = await request(app()).get('/admin/audit/summary').set('x-admin-token', TOKEN).expect(200);
    expect(res.body).toEqual({ pending: 0, outboxPending: 0, pendingTimeoutMs: 7_000 });
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    const metrics = await request(app()).get('/metrics').expect(200);
    expect(metrics.text).toContain('orders_total');
    expect(await promtoolCheckMetrics(metrics.text)).toBe('');
  });
});
