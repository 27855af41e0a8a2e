import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('answers its first probe already ready when the database is up at start-up', async () => {
    // A replacement replica: /health must not pass before /ready does, or the first readiness probe
    // (run as soon as the startup probe passes) fails and readiness waits a whole probe period.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const service = startProcess(MAIN, { DATABASE_URL: pg.url, PORT: String(port), HOST: '127.0.0.1' });
    try {
      await until('/health answers', async () => (await httpStatus(`${base}/health`)) === 200);
      // Not the status alone: on a saturated machine the check's SELECT 1 may time out (1 s) on its own.
      const ready = (await (await fetch(`${base}/ready`)).json()) as {
        checks: { name: string; message?: string }[];
      };
      const database = ready.checks.find((c) => c.name === 'database');
      expect(database?.message ?? '').not.toContain('migrations not applied yet');
      expect(service.output()).not.toContain('retrying');
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
    for (const name of ['DATABASE_URL', 'PORT', 'ADMIN_TOKEN']) expect(service.output()).toContain(name);
  });

  it('exits 0 on SIGTERM while it still waits for the database', async () => {
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

  it('waits for a database that comes up late: alive, not ready, 503 database-unavailable, then serves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kit-late-db-'));
    const dbPort = await freePort();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const service = startProcess(MAIN, {
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${dbPort}/shop`,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    let late: RunningPostgres | undefined;
    try {
      await until('/health answers', async () => (await httpStatus(`${base}/health`)) === 200);
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'unhealthy',
        checks: [expect.objectContaining({ name: 'database', status: 'unhealthy' })],
      });
      const things = await fetch(`${base}/things`);
      expect(things.status).toBe(503);
      expect(things.headers.get('retry-after')).toBe('1');
      expect(await things.json()).toMatchObject({ type: 'urn:problem:database-unavailable', status: 503 });
      await until('a second retry', () => service.output().split('retrying').length > 2);

      late = await startEmbeddedPostgres({ dir, port: dbPort });
      await until('/ready', async () => (await httpStatus(`${base}/ready`)) === 200, 30_000);
      expect(await (await fetch(`${base}/things`)).json()).toEqual({ items: [] });
      expect(service.child.exitCode).toBeNull();
    } finally {
      service.child.kill('SIGKILL');
      await late?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
