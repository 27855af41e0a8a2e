import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createManualClock, type ManualClock } from '../src/clock/clock.ts';
import {
  CircuitOpenError,
  DependencyHttpError,
  RetriesExhaustedError,
  TimeoutError,
} from '../src/errors/errors.ts';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../src/http/http-client.ts';
import { parseRetryAfter } from '../src/retry/retry-after.ts';
import { captureLogger, metricValue, newRegistry } from './helpers.ts';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly remotePort: number | undefined;
}

const seen: Seen[] = [];
let connections = 0;
let server: Server;
let baseURL: string;
const pendingTimers = new Set<NodeJS.Timeout>();

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  seen.push({
    method: req.method ?? '',
    path: url.pathname,
    headers: req.headers,
    remotePort: req.socket.remotePort,
  });
  switch (url.pathname) {
    case '/ok':
      return json(res, 200, { ok: true, requestId: req.headers['x-request-id'] ?? null });
    case '/slow': {
      const timer = setTimeout(
        () => {
          pendingTimers.delete(timer);
          json(res, 200, { slow: true });
        },
        Number(url.searchParams.get('ms')),
      );
      pendingTimers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        pendingTimers.delete(timer);
      });
      return;
    }
    case '/unavailable':
      return json(res, 503, { type: 'about:blank', title: 'Service Unavailable', status: 503 });
    case '/stall-first':
      // The first request hangs (a replica that stopped answering on that connection); later ones answer.
      if (seen.filter((s) => s.path === '/stall-first').length === 1) return;
      return json(res, 200, { ok: true });
    case '/flaky': {
      const hits = seen.filter((s) => s.path === '/flaky').length;
      return hits < 3 ? json(res, 500, { title: 'boom' }) : json(res, 200, { hits });
    }
    case '/rate-limited':
      return json(
        res,
        429,
        { title: 'Too Many Requests' },
        { 'retry-after': url.searchParams.get('after') ?? '1' },
      );
    case '/reset':
      req.socket.destroy();
      return;
    case '/reservations':
      return json(
        res,
        409,
        {
          type: 'https://self-healing-shop/problems/insufficient-stock',
          title: 'Insufficient stock',
          status: 409,
          detail: 'p-001 has 1 left',
          errors: [{ productId: 'p-001', requested: 2, available: 1 }],
        },
        { 'content-type': 'application/problem+json' },
      );
    case '/missing':
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ title: 'Not Found', status: 404 }));
      return;
    default:
      return json(res, 404, {});
  }
}

beforeAll(async () => {
  server = createServer(handle);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const timer of pendingTimers) clearTimeout(timer);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const clients: HttpClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose();
  seen.length = 0;
});

function client(options: Partial<HttpClientOptions> = {}, clock?: ManualClock) {
  const registry = newRegistry();
  const { logger, events } = captureLogger();
  const c = createHttpClient(
    {
      dependency: 'inventory',
      baseURL,
      timeoutMs: 1000,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
      ...options,
    },
    { registry, logger, ...(clock === undefined ? {} : { clock }) },
  );
  clients.push(c);
  return { client: c, registry, events };
}

const hits = (path: string): number => seen.filter((s) => s.path === path).length;

/** Polls until `condition` holds, failing after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('resilient HTTP client', () => {
  it('retries a timed-out attempt on a fresh connection, not on the pooled one', async () => {
    const { client: c } = client({ timeoutMs: 200 });
    await c.get('/ok');
    await expect(c.get('/stall-first')).resolves.toMatchObject({ status: 200 });
    const [stalled, retried] = seen.filter((s) => s.path === '/stall-first');
    const warm = seen.find((s) => s.path === '/ok')!;
    // The first attempt reused the pooled keep-alive connection; the retry came on a new one, closed after.
    expect(stalled!.remotePort).toBe(warm.remotePort);
    expect(stalled!.headers.connection).toBe('keep-alive');
    expect(retried!.remotePort).not.toBe(stalled!.remotePort);
    expect(retried!.headers.connection).toBe('close');
  });

  it('returns status, parsed body and headers of a 2xx answer and sends x-request-id', async () => {
    const { client: c } = client();
    const response = await c.get<{ ok: boolean; requestId: string }>('/ok', { requestId: 'req-42' });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ ok: true, requestId: 'req-42' });
    expect(response.headers['content-type']).toContain('application/json');
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    const { client: c } = client();
    const before = connections;
    for (let i = 0; i < 5; i++) await c.get('/ok');
    expect(connections - before).toBe(1);
  });

  it('rejects a 409 with its status and problem+json body, without retrying or counting a failure', async () => {
    const { client: c, registry } = client({
      circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 1 } },
    });
    const error = await c
      .post(
        '/reservations',
        { orderId: 'o-1', items: [{ productId: 'p-001', quantity: 2 }] },
        { idempotencyKey: 'o-1' },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyHttpError);
    expect(error).toMatchObject({
      status: 409,
      retryable: false,
      countsAsFailure: false,
      code: 'DEPENDENCY_HTTP_ERROR',
      body: {
        title: 'Insufficient stock',
        status: 409,
        errors: [{ productId: 'p-001', requested: 2, available: 1 }],
      },
    });
    expect(hits('/reservations')).toBe(1);
    expect(c.circuitState).toBe('closed');
    expect(
      await metricValue(registry, 'resilience_calls_total', { dependency: 'inventory', outcome: 'success' }),
    ).toBe(1);
  });

  it('rejects a 404 with its parsed body and never retries it', async () => {
    const { client: c } = client();
    const error = await c.get('/missing').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, body: { title: 'Not Found', status: 404 } });
    expect(hits('/missing')).toBe(1);
  });

  it('retries a GET on 5xx until it succeeds', async () => {
    const { client: c, registry } = client({ retry: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 } });
    const response = await c.get<{ hits: number }>('/flaky');
    expect(response.data.hits).toBe(3);
    expect(await metricValue(registry, 'resilience_retries_total', { dependency: 'inventory' })).toBe(2);
  });

  it('never retries a POST without an Idempotency-Key', async () => {
    const { client: c } = client();
    const error = await c.post('/unavailable', { a: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, retryable: false, countsAsFailure: true });
    expect(hits('/unavailable')).toBe(1);
  });

  it('retries a POST that carries an Idempotency-Key and sends the key on every attempt', async () => {
    const { client: c } = client();
    const error = await c
      .post('/unavailable', { a: 1 }, { idempotencyKey: 'key-7' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).cause).toMatchObject({ status: 503 });
    expect(seen.filter((s) => s.path === '/unavailable').map((s) => s.headers['idempotency-key'])).toEqual([
      'key-7',
      'key-7',
      'key-7',
    ]);
  });

  it('turns a reset connection into a retryable network failure of the dependency', async () => {
    const { client: c } = client({ retry: { maxAttempts: 2, initialDelayMs: 1 } });
    const error = await c.get('/reset').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    const cause = (error as RetriesExhaustedError).cause as DependencyHttpError;
    expect(cause).toBeInstanceOf(DependencyHttpError);
    expect(cause.status).toBeUndefined();
    expect(cause.code).toBe('DEPENDENCY_UNREACHABLE');
    expect(cause.networkCode).toBe('ECONNRESET');
    expect(hits('/reset')).toBe(2);
  });

  it('retries even a POST without key when the connection was refused, since nothing was sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { client: c, registry } = client({ baseURL: `http://127.0.0.1:${port}` });
    const error = await c.post('/orders', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).cause).toMatchObject({ networkCode: 'ECONNREFUSED' });
    expect(await metricValue(registry, 'resilience_retries_total', { dependency: 'inventory' })).toBe(2);
  });

  it('times out a slow answer per attempt and aborts the request', async () => {
    const { client: c, registry } = client({ timeoutMs: 50, retry: false });
    const error = await c.get('/slow?ms=5000').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ scope: 'attempt', timeoutMs: 50 });
    // The aborted request closes its connection, so the server drops the pending answer.
    await waitFor(() => pendingTimers.size === 0);
    expect(
      await metricValue(registry, 'resilience_calls_total', { dependency: 'inventory', outcome: 'timeout' }),
    ).toBe(1);
  });

  it('waits the Retry-After of a 429 before retrying', async () => {
    const clock = createManualClock();
    const { client: c, events } = client(
      { timeoutMs: 60_000, retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } },
      clock,
    );
    const result = c.get('/rate-limited?after=2').catch((e: unknown) => e);
    await waitFor(() => events.some((e) => e.msg === 'retrying call'));
    // The backoff is the 2 s the dependency asked for, not the 1 ms of the exponential backoff.
    expect(events.find((e) => e.msg === 'retrying call')).toMatchObject({ attempt: 2, delayMs: 2000 });
    // Pending: the policy's timeout timer and the backoff; the backoff fires only at 2000 ms.
    expect(clock.pendingTimers).toBe(2);
    clock.advance(1999);
    expect(clock.pendingTimers).toBe(2);
    clock.advance(1);
    expect(clock.pendingTimers).toBe(1);
    await waitFor(() => hits('/rate-limited') === 2);
    const error = await result;
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({
      retryAfterMs: 2000,
      cause: { status: 429, retryAfterMs: 2000, countsAsFailure: true },
    });
  });

  it('probes a half-open circuit by itself and closes it without any caller traffic', async () => {
    const clock = createManualClock();
    const { client: c } = client(
      {
        retry: false,
        circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 3 }, coolDownMs: 1000 },
        halfOpenProbe: { path: '/ok', intervalMs: 1 },
      },
      clock,
    );
    for (let i = 0; i < 3; i++) await c.get('/unavailable').catch(() => undefined);
    expect(c.circuitState).toBe('open');
    expect(hits('/ok')).toBe(0);
    clock.advance(1000);
    await waitFor(() => c.circuitState === 'closed');
    // The default half-open policy closes after 3 successful probes.
    expect(hits('/ok')).toBe(3);
  });

  it('stops probing when a probe fails and the circuit opens again', async () => {
    const clock = createManualClock();
    const { client: c } = client(
      {
        retry: false,
        circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 3 }, coolDownMs: 1000 },
        halfOpenProbe: { path: '/unavailable', intervalMs: 1 },
      },
      clock,
    );
    for (let i = 0; i < 3; i++) await c.get('/unavailable').catch(() => undefined);
    clock.advance(1000);
    await waitFor(() => hits('/unavailable') > 3 && c.circuitState === 'open');
    const probes = hits('/unavailable') - 3;
    // 5 probe slots, 3 successes needed: the third failed probe makes closing impossible.
    expect(probes).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hits('/unavailable') - 3).toBe(probes);
  });

  it('opens its circuit on repeated 5xx and then rejects without sending', async () => {
    const { client: c } = client({
      retry: false,
      circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 3 }, coolDownMs: 60_000 },
    });
    for (let i = 0; i < 3; i++) await c.get('/unavailable').catch(() => undefined);
    expect(c.circuitState).toBe('open');
    await expect(c.get('/unavailable')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(hits('/unavailable')).toBe(3);
    await expect(c.healthCheck().check(new AbortController().signal)).resolves.toMatchObject({ ok: false });
    expect(c.policy.name).toBe('inventory');
  });

  it('serves a fallback response when the dependency fails', async () => {
    const { client: c } = client({ retry: false });
    const response = await c.get<string[]>('/unavailable', {
      fallback: () => ({ status: 200, data: ['cached'], headers: {} }),
    });
    expect(response.data).toEqual(['cached']);
  });
});

describe('Retry-After parsing', () => {
  const now = Date.parse('2026-11-24T10:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
  });
  it('reads an HTTP date relative to now', () => {
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
  });
  it('treats a date in the past as no wait', () => {
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
