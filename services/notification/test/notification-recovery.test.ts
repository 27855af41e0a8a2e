import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { databaseOutage, onRestartablePostgres } from '@self-healing-shop/service-kit/testing';
import { body, countRows, orderId, sentLogs, startNotification, type TestNotification } from './support.ts';

let setup: Awaited<ReturnType<typeof onRestartablePostgres<TestNotification>>>;

beforeAll(async () => {
  setup = await onRestartablePostgres((url) => startNotification(url));
});

afterAll(async () => {
  await setup?.dispose();
});

describe('database restart', () => {
  it('turns unready while the database is down, loses nothing, and recovers without a restart', async () => {
    const service = setup.replica;
    const notify = (id: string) => request(service.app).post('/notifications').send(body(id));
    const before = orderId('before');
    await notify(before).expect(201);

    const during = orderId('during');
    await databaseOutage(
      setup.pg,
      async () => (await request(service.app).get('/ready')).status,
      async () => {
        await request(service.app).get('/health').expect(200);
        const down = await notify(during).expect(503);
        expect(down.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(down.headers['retry-after']).toBe('1');
        expect(down.body).toMatchObject({ type: 'urn:problem:database-unavailable', status: 503 });
        // Nothing was sent for a notification that could not be recorded.
        expect(sentLogs(service, during)).toHaveLength(0);
      },
    );

    // The caller's retry now sends it, once; the earlier one survived the restart.
    await notify(during).expect(201);
    await notify(before).expect(200);
    expect(sentLogs(service, during)).toHaveLength(1);
    expect(await countRows(service.pool)).toBe(2);
  });
});
