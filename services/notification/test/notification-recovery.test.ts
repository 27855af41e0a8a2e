import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  startRestartablePostgres,
  until,
  type RestartablePostgres,
} from '@self-healing-shop/service-kit/testing';
import { body, countRows, orderId, sentLogs, startNotification, type TestNotification } from './support.ts';

let pg: RestartablePostgres;
let service: TestNotification;

beforeAll(async () => {
  pg = await startRestartablePostgres();
  service = await startNotification(pg.url);
});

afterAll(async () => {
  await service?.close();
  await pg?.dispose();
});

const readyIs = (status: number) => async () => (await request(service.app).get('/ready')).status === status;

describe('database restart', () => {
  it('turns unready while the database is down, loses nothing, and recovers without a restart', async () => {
    const before = orderId('before');
    await request(service.app).post('/notifications').send(body(before)).expect(201);

    await pg.stop();
    await until('/ready 503', readyIs(503));
    await request(service.app).get('/health').expect(200);
    const during = orderId('during');
    const down = await request(service.app).post('/notifications').send(body(during)).expect(503);
    expect(down.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(down.headers['retry-after']).toBe('1');
    expect(down.body).toMatchObject({ type: 'urn:problem:database-unavailable', status: 503 });
    // Nothing was sent for a notification that could not be recorded.
    expect(sentLogs(service, during)).toHaveLength(0);

    await pg.start();
    await until('/ready 200', readyIs(200));
    // The caller's retry now sends it, once; the earlier one survived the restart.
    await request(service.app).post('/notifications').send(body(during)).expect(201);
    await request(service.app).post('/notifications').send(body(before)).expect(200);
    expect(sentLogs(service, during)).toHaveLength(1);
    expect(await countRows(service.pool)).toBe(2);
  });
});
