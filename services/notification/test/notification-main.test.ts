import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  startEmbeddedPostgres,
  type RunningPostgres,
} from '@self-healing-shop/service-kit/embedded-postgres';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

let pg: RunningPostgres;

beforeAll(async () => {
  pg = await startEmbeddedPostgres();
});

afterAll(async () => {
  await pg?.stop();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string>): Started {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [MAIN], {
    env: { ...inherited, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function until(
  what: string,
  predicate: () => Promise<boolean> | boolean,
  deadlineMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

describe('main.ts as a real process', () => {
  it('migrates, becomes ready, serves, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const service = start({
      DATABASE_URL: pg.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      POD_NAME: 'notification-t',
    });
    try {
      await until('/ready', async () => (await status(`http://127.0.0.1:${port}/ready`)) === 200);
      const created = await fetch(`http://127.0.0.1:${port}/notifications`, {
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

      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.output()).toContain('shutdown finished');
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  it('exits 1 naming DATABASE_URL when it is missing', async () => {
    const service = start({ PORT: '0' });
    const { code } = await service.exited;
    expect(code).toBe(1);
    expect(service.output()).toContain('DATABASE_URL');
  });

  it('exits 1 naming every bad variable', async () => {
    const service = start({ DATABASE_URL: 'mysql://x', PORT: '70000', FAULT_INJECTION_ENABLED: 'true' });
    const { code } = await service.exited;
    expect(code).toBe(1);
    for (const name of ['DATABASE_URL', 'PORT', 'FAULT_INJECTION_TOKEN'])
      expect(service.output()).toContain(name);
  });

  it('keeps retrying while the database is unreachable at start-up, and exits 0 on SIGTERM meanwhile', async () => {
    const deadPort = await freePort();
    const service = start({
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${deadPort}/shop`,
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
