import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import {
  body,
  counterValue,
  countRows,
  orderId,
  sentLogs,
  startNotification,
  type TestNotification,
} from './support.ts';

let pg: RunningPostgres;
let service: TestNotification;

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
  service = await startNotification(pg.url);
});

afterAll(async () => {
  await service?.close();
  await pg?.stop();
});

const PROBLEM = /^application\/problem\+json/;
const count = (outcome: string) =>
  counterValue(service.registry, 'notifications_total', { outcome, channel: 'email' });

describe('sending', () => {
  it('records and sends a notification once (201 and one structured log line)', async () => {
    const id = orderId();
    const sentBefore = await count('sent');
    const res = await request(service.app).post('/notifications').send(body(id)).expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      orderId: id,
      kind: 'order-confirmation',
      channel: 'email',
      recipient: 'ada@example.com',
      payload: { totalCents: 2499, items: [{ productId: 'p-001', quantity: 1 }] },
      status: 'sent',
      createdAt: expect.any(String),
      sentAt: expect.any(String),
    });
    expect(Date.parse(res.body.sentAt)).toBeGreaterThanOrEqual(Date.parse(res.body.createdAt));
    expect(sentLogs(service, id)).toEqual([
      expect.objectContaining({
        level: 'info',
        service: 'notification',
        notificationId: res.body.id,
        orderId: id,
        kind: 'order-confirmation',
        channel: 'email',
        recipient: 'ada@example.com',
      }),
    ]);
    expect(await count('sent')).toBe(sentBefore + 1);
    const read = await request(service.app).get(`/notifications/${res.body.id}`).expect(200);
    expect(read.body).toEqual(res.body);
  });

  it('accepts every address the order service accepts, such as a@b.c', async () => {
    const res = await request(service.app)
      .post('/notifications')
      .send(body(orderId(), { recipient: 'a@b.c' }))
      .expect(201);
    expect(res.body.recipient).toBe('a@b.c');
  });

  it('answers the same order and kind again with 200 and the existing record, sending nothing', async () => {
    const id = orderId();
    const first = await request(service.app).post('/notifications').send(body(id)).expect(201);
    const duplicates = await count('duplicate');
    const rows = await countRows(service.pool);
    const again = await request(service.app)
      .post('/notifications')
      .send(body(id, { payload: { different: true } }))
      .expect(200);
    expect(again.body).toEqual(first.body);
    expect(sentLogs(service, id)).toHaveLength(1);
    expect(await countRows(service.pool)).toBe(rows);
    expect(await count('duplicate')).toBe(duplicates + 1);
  });

  it('rejects the same order and kind with another recipient (409) and sends nothing', async () => {
    const id = orderId();
    await request(service.app).post('/notifications').send(body(id)).expect(201);
    const rows = await countRows(service.pool);
    const res = await request(service.app)
      .post('/notifications')
      .send(body(id, { recipient: 'grace@example.com' }))
      .expect(409);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ type: 'urn:problem:idempotency-mismatch', status: 409 });
    expect(res.body.detail).toContain(id);
    expect(sentLogs(service, id)).toHaveLength(1);
    expect(await countRows(service.pool)).toBe(rows);
  });

  it('stores an empty payload when none is given', async () => {
    const { payload: _payload, ...withoutPayload } = body(orderId());
    const res = await request(service.app).post('/notifications').send(withoutPayload).expect(201);
    expect(res.body.payload).toEqual({});
  });

  it.each([
    ['a missing orderId', { orderId: undefined }, 'orderId'],
    ['an orderId with spaces', { orderId: 'a b' }, 'orderId'],
    ['an unknown kind', { kind: 'newsletter' }, 'kind'],
    ['an unknown channel', { channel: 'sms' }, 'channel'],
    ['a recipient that is not an email', { recipient: 'not-an-email' }, 'recipient'],
    ['a missing recipient', { recipient: undefined }, 'recipient'],
    ['a payload that is an array', { payload: [1, 2] }, 'payload'],
    ['a payload that is a string', { payload: 'hello' }, 'payload'],
    ['an unknown field', { priority: 'high' }, '(root)'],
  ])('rejects %s with 400 naming the field and records nothing', async (_what, overrides, path) => {
    const rows = await countRows(service.pool);
    const id = orderId('bad');
    const res = await request(service.app).post('/notifications').send(body(id, overrides)).expect(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ type: 'urn:problem:validation', status: 400 });
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await countRows(service.pool)).toBe(rows);
    expect(sentLogs(service, id)).toHaveLength(0);
  });

  it('names every bad field at once', async () => {
    const res = await request(service.app)
      .post('/notifications')
      .send({ orderId: '', kind: 'x', channel: 'y', recipient: 'z' })
      .expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'channel',
      'kind',
      'orderId',
      'recipient',
    ]);
  });

  it('rejects malformed JSON with 400 and a body over 64 kB with 413, recording nothing', async () => {
    const rows = await countRows(service.pool);
    const malformed = await request(service.app)
      .post('/notifications')
      .set('content-type', 'application/json')
      .send('{"orderId":')
      .expect(400);
    expect(malformed.headers['content-type']).toMatch(PROBLEM);
    expect(malformed.body.type).toBe('urn:problem:malformed-json');
    const large = await request(service.app)
      .post('/notifications')
      .send(body(orderId(), { payload: { blob: 'x'.repeat(70_000) } }))
      .expect(413);
    expect(large.body).toMatchObject({ type: 'urn:problem:payload-too-large', status: 413 });
    expect(await countRows(service.pool)).toBe(rows);
  });
});

describe('a failing channel', () => {
  it('answers 502, records nothing and counts a failure; a retry once it works sends it', async () => {
    let broken = true;
    const flaky = await startNotification(pg.url, {
      channels: {
        email: {
          async send() {
            if (broken) throw new Error('smtp relay down');
          },
        },
      },
    });
    try {
      const id = orderId('flaky');
      const rows = await countRows(flaky.pool);
      const failed = await request(flaky.app).post('/notifications').send(body(id)).expect(502);
      expect(failed.headers['content-type']).toMatch(PROBLEM);
      expect(failed.body).toMatchObject({ type: 'urn:problem:delivery-failed', status: 502 });
      expect(await countRows(flaky.pool)).toBe(rows);
      expect(
        await counterValue(flaky.registry, 'notifications_total', { outcome: 'failed', channel: 'email' }),
      ).toBe(1);
      expect(flaky.logs.some((l) => l.msg === 'notification failed' && l.orderId === id)).toBe(true);

      broken = false;
      await request(flaky.app).post('/notifications').send(body(id)).expect(201);
      expect(await countRows(flaky.pool)).toBe(rows + 1);
    } finally {
      await flaky.close();
    }
  });
});

describe('reading', () => {
  it('lists the notifications of one order', async () => {
    const id = orderId('list');
    const created = await request(service.app).post('/notifications').send(body(id)).expect(201);
    const res = await request(service.app).get('/notifications').query({ orderId: id }).expect(200);
    expect(res.body).toEqual({ items: [created.body] });
    const none = await request(service.app)
      .get('/notifications')
      .query({ orderId: orderId('none') })
      .expect(200);
    expect(none.body).toEqual({ items: [] });
  });

  it('pages through every notification newest first without orderId', async () => {
    for (let i = 0; i < 5; i++)
      await request(service.app)
        .post('/notifications')
        .send(body(orderId('page')))
        .expect(201);
    const total = await countRows(service.pool);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await request(service.app)
        .get('/notifications')
        .query({ limit: 3, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((n: { id: string }) => n.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    const first = await request(service.app).get('/notifications').query({ limit: 2 }).expect(200);
    const [newer, older] = first.body.items;
    expect(Date.parse(newer.createdAt)).toBeGreaterThanOrEqual(Date.parse(older.createdAt));
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=500', 'limit'],
    ['cursor=zzz', 'cursor'],
    ['orderId=a%20b', 'orderId'],
  ])('rejects the query %s with 400 naming %s', async (query, field) => {
    const res = await request(service.app).get(`/notifications?${query}`).expect(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
  });

  it.each(['00000000-0000-4000-8000-000000000000', 'not-a-uuid'])(
    'answers 404 problem+json naming the unknown id %s',
    async (id) => {
      const res = await request(service.app).get(`/notifications/${id}`).expect(404);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ type: 'urn:problem:not-found', status: 404 });
      expect(res.body.detail).toContain(id);
    },
  );
});

describe('HTTP contract', () => {
  it('echoes a given x-request-id and creates one otherwise', async () => {
    const given = await request(service.app)
      .post('/notifications')
      .set('x-request-id', 'req-42')
      .send({})
      .expect(400);
    expect(given.headers['x-request-id']).toBe('req-42');
    const created = await request(service.app).get('/notifications/not-a-uuid').expect(404);
    expect(created.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is live, and ready with the database check', async () => {
    expect((await request(service.app).get('/health').expect(200)).body).toEqual({
      status: 'healthy',
      checks: [],
    });
    const ready = await request(service.app).get('/ready').expect(200);
    expect(ready.body.checks).toEqual([expect.objectContaining({ name: 'database', status: 'healthy' })]);
  });

  it('exposes notifications_total for every outcome', async () => {
    // one notification sent by this test, whichever ran before it
    await request(service.app).post('/notifications').send(body(orderId())).expect(201);
    const res = await request(service.app).get('/metrics').expect(200);
    for (const outcome of ['sent', 'duplicate', 'failed']) {
      expect(res.text).toMatch(
        new RegExp(`^notifications_total\\{outcome="${outcome}",channel="email"\\} \\d+$`, 'm'),
      );
    }
    expect(res.text).toMatch(/^notifications_total\{outcome="sent",channel="email"\} [1-9]\d*$/m);
  });
});

describe('fault injection', () => {
  it('mounts the admin API when enabled: an injected error answers before anything is sent', async () => {
    const chaotic = await startNotification(pg.url, { adminToken: 'test-token-123', faultInjection: true });
    try {
      await request(chaotic.app)
        .post('/admin/faults')
        .set('x-admin-token', 'test-token-123')
        .send({ type: 'error', route: '/notifications', method: 'POST', status: 500 })
        .expect(201);
      const id = orderId('chaos');
      const rows = await countRows(chaotic.pool);
      await request(chaotic.app).post('/notifications').send(body(id)).expect(500);
      expect(await countRows(chaotic.pool)).toBe(rows);
      expect(sentLogs(chaotic, id)).toHaveLength(0);
    } finally {
      await chaotic.close();
    }
  });
});
