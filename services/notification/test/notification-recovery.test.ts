import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { body, countRows, orderId, sentLogs, startNotification, type TestNotification } from './support.ts';

let dir: string;
let pg: RunningPostgres | undefined;
let service: TestNotification;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'notification-recovery-'));
  pg = await startEmbeddedPostgres({ dir });
  service = await startNotification(pg.url);
});

afterAll(async () => {
  await service?.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitForReady(expected: number, deadlineMs = 15_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await request(service.app).get('/ready')).status;
    if (last === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/ready stayed ${last}, expected ${expected}`);
}

describe('database restart', () => {
  it('turns unready while the database is down, loses nothing, and recovers without a restart', async () => {
    const port = pg!.port;
    const before = orderId('before');
    await request(service.app).post('/notifications').send(body(before)).expect(201);

    await pg!.stop();
    pg = undefined;
    await waitForReady(503);
    await request(service.app).get('/health').expect(200);
    const during = orderId('during');
    const down = await request(service.app).post('/notifications').send(body(during)).expect(503);
    expect(down.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(down.headers['retry-after']).toBe('1');
    expect(down.body).toMatchObject({ type: 'urn:problem:unavailable', status: 503 });
    // Nothing was sent for a notification that could not be recorded.
    expect(sentLogs(service, during)).toHaveLength(0);

    pg = await startEmbeddedPostgres({ dir, port });
    await waitForReady(200);
    // The caller's retry now sends it, once; the earlier one survived the restart.
    await request(service.app).post('/notifications').send(body(during)).expect(201);
    await request(service.app).post('/notifications').send(body(before)).expect(200);
    expect(sentLogs(service, during)).toHaveLength(1);
    expect(await countRows(service.pool)).toBe(2);
  });
});
