import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { freePort, httpStatus, startProcess, until } from '../src/testing.ts';

const MAIN = fileURLToPath(new URL('./fixtures/demo-main.ts', import.meta.url));
let pg: RunningPostgres;

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
});

afterAll(async () => {
  await pg?.stop();
});

describe('launchService (a real process)', () => {
  it('migrates, becomes ready, serves, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const service = startProcess(MAIN, { DATABASE_URL: pg.url, PORT: String(port), HOST: '127.0.0.1' });
    try {
      await until('/ready', async () => (await httpStatus(`http://127.0.0.1:${port}/ready`)) === 200);
      expect(await (await fetch(`http://127.0.0.1:${port}/things`)).json()).toEqual({ items: [] });
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.output()).toContain('shutdown finished');
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  it('exits 1 naming DATABASE_URL when it is missing', async () => {
    const service = startProcess(MAIN, { PORT: '0' });
    expect((await service.exited).code).toBe(1);
    expect(service.output()).toContain('DATABASE_URL');
  });

  it('exits 1 naming every bad variable', async () => {
    const service = startProcess(MAIN, {
      DATABASE_URL: 'mysql://x',
      PORT: '70000',
      FAULT_INJECTION_ENABLED: 'true',
    });
    expect((await service.exited).code).toBe(1);
    for (const name of ['DATABASE_URL', 'PORT', 'FAULT_INJECTION_TOKEN'])
      expect(service.output()).toContain(name);
  });

  it('keeps retrying while the database is unreachable at start-up, and exits 0 on SIGTERM meanwhile', async () => {
    const service = startProcess(MAIN, {
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/shop`,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
    });
    try {
      await until('a retry log line', () => service.output().includes('retrying'));
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
    } finally {
      service.child.kill('SIGKILL');
    }
  });
});
