import { EventEmitter } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { installGracefulShutdown } from '../src/shutdown/graceful-shutdown.ts';
import { HealthRegistry } from '../src/health/health-registry.ts';

const logger = pino({ level: 'silent' });

function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    emitter,
    exits,
    proc: {
      once: emitter.once.bind(emitter),
      removeListener: emitter.removeListener.bind(emitter),
      exit: (code?: number) => void exits.push(code ?? 0),
    } as unknown as Pick<NodeJS.Process, 'once' | 'removeListener' | 'exit'>,
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function get(port: number, path: string): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          ...(res.headers.connection ? { connection: res.headers.connection } : {}),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('installGracefulShutdown', () => {
  it('turns readiness off, lets the in-flight request finish, closes resources and exits 0 on SIGTERM', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const requestStarted = new Promise<void>((resolve) => (started = resolve));
    const server = createServer((_req, res) => {
      started();
      void held.then(() => res.end('done'));
    });
    const port = await listen(server);
    const health = new HealthRegistry({ logger });
    const closed: string[] = [];
    const { proc, emitter, exits } = fakeProcess();
    installGracefulShutdown({
      server,
      logger,
      health,
      timeoutMs: 5_000,
      process: proc,
      onClose: [
        { name: 'worker', close: () => void closed.push('worker') },
        { name: 'pool', close: async () => void closed.push('pool') },
      ],
    });

    const inFlight = get(port, '/slow');
    await requestStarted;
    emitter.emit('SIGTERM', 'SIGTERM');
    expect((await health.readiness()).ready).toBe(false);
    expect(closed).toEqual([]);
    release();
    const response = await inFlight;
    expect(response).toMatchObject({ status: 200, body: 'done', connection: 'close' });
    await waitFor(() => exits.length > 0);
    expect(exits).toEqual([0]);
    expect(closed).toEqual(['worker', 'pool']);
    expect(server.listening).toBe(false);
  });

  it('cuts connections still busy at the deadline and still exits', async () => {
    const server = createServer(() => {
      /* never answers */
    });
    const port = await listen(server);
    const { proc } = fakeProcess();
    const shutdown = installGracefulShutdown({ server, logger, timeoutMs: 50, process: proc, signals: [] });
    const hanging = get(port, '/hang').catch((error: Error) => error);
    await waitFor(() => server.listening && (server as unknown as { _connections: number })._connections > 0);
    expect(await shutdown.shutdown('test')).toBe(0);
    expect(String(await hanging)).toMatch(/socket hang up|ECONNRESET/);
  });

  it('exits 1 when a resource fails to close, after closing the others', async () => {
    const server = createServer((_req, res) => res.end());
    await listen(server);
    const closed: string[] = [];
    const shutdown = installGracefulShutdown({
      server,
      logger,
      timeoutMs: 1_000,
      process: fakeProcess().proc,
      onClose: [
        {
          name: 'broken',
          close: () => {
            throw new Error('boom');
          },
        },
        { name: 'pool', close: () => void closed.push('pool') },
      ],
    });
    expect(await shutdown.shutdown('test')).toBe(1);
    expect(closed).toEqual(['pool']);
  });

  it('runs once however many signals arrive', async () => {
    const server = createServer((_req, res) => res.end());
    await listen(server);
    let closes = 0;
    const shutdown = installGracefulShutdown({
      server,
      logger,
      timeoutMs: 1_000,
      process: fakeProcess().proc,
      onClose: [{ name: 'pool', close: () => void closes++ }],
    });
    const [a, b] = await Promise.all([shutdown.shutdown('one'), shutdown.shutdown('two')]);
    expect([a, b, closes]).toEqual([0, 0, 1]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
