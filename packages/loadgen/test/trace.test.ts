import { afterEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_FAILED_TRACES, startLoad } from '../src/load.ts';
import type { LoadReport } from '../src/load.ts';

// W3C Trace Context, version 00: version-traceid(32 hex)-parentid(16 hex)-flags; 01 = sampled.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

interface Seen {
  readonly traceparent: string | undefined;
  readonly idempotencyKey: string;
}

const servers: http.Server[] = [];

/** Answers 503 to every request whose number `fails` picks, else 201. */
async function serve(fails: (n: number) => boolean): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      seen.push({
        traceparent: request.headers['traceparent'] as string | undefined,
        idempotencyKey: request.headers['idempotency-key'] as string,
      });
      if (fails(seen.length)) response.writeHead(503).end();
      else response.writeHead(201, { 'content-type': 'application/json' }).end(`{"id":"o-${seen.length}"}`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('loadgen tracing', () => {
  it('sends a fresh sampled W3C traceparent on every request, with random ids', async () => {
    const { url, seen } = await serve(() => false);
    await startLoad({ url, rate: 200, maxRequests: 50, products: ['p'] }).done;
    expect(seen).toHaveLength(50);
    const ids = seen.map((s) => TRACEPARENT.exec(s.traceparent ?? ''));
    expect(ids.every((m) => m !== null)).toBe(true);
    expect(new Set(ids.map((m) => m![1])).size).toBe(50);
    expect(new Set(ids.map((m) => m![2])).size).toBe(50);
    for (const m of ids) {
      expect(m![1]).not.toMatch(/^0+$/);
      expect(m![2]).not.toMatch(/^0+$/);
    }
  });

  it('keeps the trace id, kind and Idempotency-Key of every failed request, and none of the others', async () => {
    const { url, seen } = await serve((n) => n % 3 === 0);
    const report = await startLoad({ url, rate: 200, maxRequests: 30, products: ['p'] }).done;
    expect(report.failed).toBe(10);
    const failedOnTheWire = seen.filter((_, i) => (i + 1) % 3 === 0);
    const expected = failedOnTheWire.map((s) => ({
      traceId: TRACEPARENT.exec(s.traceparent!)![1],
      kind: 'http_503',
      idempotencyKey: s.idempotencyKey,
    }));
    expect(
      report.failedTraces.map(({ traceId, kind, idempotencyKey }) => ({ traceId, kind, idempotencyKey })),
    ).toEqual(expect.arrayContaining(expected));
    expect(report.failedTraces).toHaveLength(10);
    expect(report.failedTracesOmitted).toBe(0);
    for (const failure of report.failedTraces) expect(Number.isNaN(Date.parse(failure.at))).toBe(false);
  });

  it('keeps transport failures too (a refused connection still started a trace)', async () => {
    const { url } = await serve(() => false);
    servers[0]!.closeAllConnections();
    await new Promise((resolve) => servers.shift()!.close(resolve));
    const report = await startLoad({ url, rate: 50, maxRequests: 3, products: ['p'] }).done;
    expect(report.failedTraces.map((f) => f.kind)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    expect(report.failedTraces.every((f) => /^[0-9a-f]{32}$/.test(f.traceId))).toBe(true);
  });

  it(`bounds the list at ${MAX_FAILED_TRACES} and counts the rest`, async () => {
    const { url } = await serve(() => true);
    const report = await startLoad({ url, rate: 2_000, maxRequests: MAX_FAILED_TRACES + 40, products: ['p'] })
      .done;
    expect(report.failed).toBe(MAX_FAILED_TRACES + 40);
    expect(report.failedTraces).toHaveLength(MAX_FAILED_TRACES);
    expect(report.failedTracesOmitted).toBe(40);
  });

  it('sends no traceparent and keeps no trace with trace: false', async () => {
    const { url, seen } = await serve(() => true);
    const report = await startLoad({ url, rate: 100, maxRequests: 5, products: ['p'], trace: false }).done;
    expect(seen.map((s) => s.traceparent)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(report.failed).toBe(5);
    expect(report.failedTraces).toEqual([]);
  });

  it('takes --no-trace on the command line', async () => {
    const { url, seen } = await serve(() => true);
    const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.ts');
    const run = (...args: string[]) =>
      new Promise<LoadReport>((resolve, reject) =>
        execFile(
          process.execPath,
          [cli, '--url', url, '--rate', '20', '--duration', '100ms', '--json', ...args],
          { timeout: 20_000 },
          (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as LoadReport)),
        ),
      );
    const untraced = await run('--no-trace');
    expect(seen.every((s) => s.traceparent === undefined)).toBe(true);
    expect(untraced.failedTraces).toEqual([]);
    const traced = await run();
    expect(traced.failedTraces).toHaveLength(traced.failed);
    expect(seen.at(-1)!.traceparent).toMatch(TRACEPARENT);
  });
});
