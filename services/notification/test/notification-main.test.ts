import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { until, withMainProcess } from '@self-healing-shop/service-kit/testing';

// Start-up failures (bad environment, database unreachable) are the kit's launchService tests.
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

let pg: RunningPostgres;

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
});

afterAll(async () => {
  await pg?.stop();
});

describe('main.ts as a real process', () => {
  it('migrates, becomes ready, serves, and exits 0 on SIGTERM', async () => {
    const { exit, output } = await withMainProcess(
      MAIN,
      { DATABASE_URL: pg.url, POD_NAME: 'notification-t' },
      async (url, service) => {
        const created = await fetch(`${url}/notifications`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            orderId: 'o-main-1',
            kind: 'order-confirmation',
            channel: 'email',
            recipient: 'a@b.co',
          }),
        });
        expect(created.status).toBe(201);
        await until('the send log line', () => service.output().includes('"msg":"notification sent"'));
      },
    );
    expect(exit).toEqual({ code: 0, signal: null });
    expect(output).toContain('shutdown finished');
  });
});
