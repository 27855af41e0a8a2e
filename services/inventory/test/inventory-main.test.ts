import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { withMainProcess } from '@self-healing-shop/service-kit/testing';

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
      { DATABASE_URL: pg.url, POD_NAME: 'inventory-t' },
      async (url) => {
        const products = (await (await fetch(`${url}/products?limit=2`)).json()) as {
          items: unknown[];
          nextCursor?: string;
        };
        expect(products.items).toHaveLength(2);
        expect(products.nextCursor).toEqual(expect.any(String));
      },
    );
    expect(exit).toEqual({ code: 0, signal: null });
    expect(output).toContain('shutdown finished');
  });
});
