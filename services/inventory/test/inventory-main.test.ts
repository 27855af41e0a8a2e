import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { freePort, httpStatus, startProcess, until } from '@self-healing-shop/service-kit/testing';

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
    const port = await freePort();
    const service = startProcess(MAIN, {
      DATABASE_URL: pg.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      POD_NAME: 'inventory-t',
    });
    try {
      await until('/ready', async () => (await httpStatus(`http://127.0.0.1:${port}/ready`)) === 200);
      const products = (await (await fetch(`http://127.0.0.1:${port}/products?limit=2`)).json()) as {
        items: unknown[];
        nextCursor?: string;
      };
      expect(products.items).toHaveLength(2);
      expect(products.nextCursor).toEqual(expect.any(String));

      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.output()).toContain('shutdown finished');
    } finally {
      service.child.kill('SIGKILL');
    }
  });
});
