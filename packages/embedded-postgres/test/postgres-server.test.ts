import { afterAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { freePort } from '@self-healing-shop/child-server';
import { stat } from 'node:fs/promises';
import { assertReachableByOthers, startPostgres, usableDataDir } from '../src/postgres-server.ts';

describe('embedded PostgreSQL', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('initialises a cluster with the shop database once and keeps its data across restarts', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'runtime-pg-'));
    await chmod(dir, 0o755); // the postgres user must reach its folder when we run as root
    const options = {
      dataDir: path.join(dir, 'postgres'),
      port: await freePort(),
      logFile: path.join(dir, 'postgres.log'),
      logger: pino({ level: 'silent' }),
    };
    const first = await startPostgres(options);
    expect(first.url).toBe(`postgres://postgres:postgres@127.0.0.1:${options.port}/shop`);
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query('CREATE TABLE kept (value text)');
    await client.query("INSERT INTO kept VALUES ('still here')");
    await client.end();
    await first.stop();

    const second = await startPostgres(options);
    const again = new pg.Client({ connectionString: second.url });
    await again.connect();
    const { rows } = await again.query<{ value: string }>('SELECT value FROM kept');
    await again.end();
    await second.stop();
    expect(rows).toEqual([{ value: 'still here' }]);
  });
});

describe('assertReachableByOthers', () => {
  it('names the folder the postgres user cannot enter and says what to do', async () => {
    const closed = await mkdtemp(path.join(os.tmpdir(), 'runtime-closed-'));
    try {
      await chmod(closed, 0o700);
      await expect(assertReachableByOthers(path.join(closed, 'data'))).rejects.toThrow(
        `cannot enter ${closed} (mode 700): run \`chmod o+x ${closed}\`, or start with --data-dir under /tmp`,
      );
      await chmod(closed, 0o755);
      await expect(assertReachableByOthers(path.join(closed, 'data'))).resolves.toBeUndefined();
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });
});

/** Whether every folder from `dir` up lets others (the postgres user) enter. */
async function enterable(dir: string): Promise<boolean> {
  for (let current = dir; ; current = path.dirname(current)) {
    if (((await stat(current)).mode & 0o001) === 0) return false;
    if (path.dirname(current) === current) return true;
  }
}

describe('usableDataDir', () => {
  it('keeps a data folder the postgres user can reach', async () => {
    const open = await mkdtemp(path.join(os.tmpdir(), 'runtime-open-'));
    try {
      await chmod(open, 0o755);
      expect(await usableDataDir(path.join(open, 'postgres'))).toEqual({
        dataDir: path.join(open, 'postgres'),
      });
    } finally {
      await rm(open, { recursive: true, force: true });
    }
  });

  it('chooses a folder the postgres user can reach when the asked one sits in a closed folder, and says why', async () => {
    const closed = await mkdtemp(path.join(os.tmpdir(), 'runtime-closed-'));
    try {
      await chmod(closed, 0o700);
      const asked = path.join(closed, 'data', 'postgres');
      const chosen = await usableDataDir(asked);
      expect(chosen.dataDir).not.toBe(asked);
      expect(path.basename(chosen.dataDir)).toBe('postgres');
      expect(chosen.reason).toBe(`the postgres user cannot enter ${closed} (mode 700)`);
      expect(await enterable(path.dirname(chosen.dataDir))).toBe(true);
      // The same clone gets the same folder on the next run (its data is kept).
      expect((await usableDataDir(asked)).dataDir).toBe(chosen.dataDir);
      await rm(path.dirname(chosen.dataDir), { recursive: true, force: true });
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });
});
