import { afterEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLoad } from '../src/load.ts';
import { parseDuration } from '../src/duration.ts';
import { percentile, percentilesOf, summarise } from '../src/percentiles.ts';
import { summaryText } from '../src/report-format.ts';
import { localUrl } from '../src/target.ts';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

const servers: http.Server[] = [];

async function serve(
  handler: (request: Received, response: http.ServerResponse) => void,
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        method: request.method!,
        path: request.url!,
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(entry);
      handler(entry, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const created = (_: Received, response: http.ServerResponse) =>
  response.writeHead(201, { 'content-type': 'application/json' }).end('{}');

describe('startLoad', () => {
  it('sends rate × duration requests: 100/s for 1 s is 100 requests, every one answered', async () => {
    const { url, received } = await serve(created);
    const report = await startLoad({ url, rate: 100, durationMs: 1_000, products: ['p-1'] }).done;
    expect(report.sent).toBe(100);
    expect(report.succeeded).toBe(100);
    expect(received.length).toBe(100);
    expect(report.successRatio).toBe(1);
    expect(report.errorsByKind).toEqual({});
  });

  it('records the id of every order answered 201, and only those', async () => {
    let n = 0;
    const { url } = await serve((_request, response) => {
      n += 1;
      // 1 in 4 is refused, 1 in 4 answered 201 without a JSON id (not trackable), the rest acknowledged.
      if (n % 4 === 0) response.writeHead(409).end();
      else if (n % 4 === 1) response.writeHead(201, { 'content-type': 'text/plain' }).end('created');
      else
        response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `o-${n}` }));
    });
    const report = await startLoad({ url, rate: 200, durationMs: 10_000, maxRequests: 40, products: ['p'] })
      .done;
    expect(report.sent).toBe(40);
    expect(report.succeeded).toBe(30);
    const expected = Array.from({ length: 40 }, (_, i) => i + 1)
      .filter((i) => i % 4 === 2 || i % 4 === 3)
      .map((i) => `o-${i}`);
    expect([...report.acknowledged].sort()).toEqual(expected.sort());
  });

  it('a burst has every request in flight at once', async () => {
    const waiting: http.ServerResponse[] = [];
    // The server answers only once all 30 are in: that happens only if they were sent together.
    const { url } = await serve((_request, response) => {
      waiting.push(response);
      if (waiting.length === 30) for (const r of waiting) created(_request, r);
    });
    const report = await startLoad({
      url,
      rate: 1,
      durationMs: 10_000,
      maxRequests: 30,
      burst: true,
      timeoutMs: 8_000,
      products: ['p'],
    }).done;
    expect(report.sent).toBe(30);
    expect(report.succeeded).toBe(30);
    expect(() => startLoad({ url, rate: 1, burst: true })).toThrow('a burst needs maxRequests');
  });

  it('posts orders of 1-3 distinct products with a unique Idempotency-Key each', async () => {
    const { url, received } = await serve(created);
    const products = ['a', 'b', 'c', 'd'];
    await startLoad({ url, rate: 200, durationMs: 250, products }).done;
    expect(received.length).toBe(50);
    const keys = new Set(received.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(received.length);
    for (const request of received) {
      expect(request).toMatchObject({ method: 'POST', path: '/orders' });
      const order = JSON.parse(request.body) as {
        customer: { email: string };
        items: Array<{ productId: string; quantity: number }>;
      };
      expect(order.customer.email).toMatch(/^load-\w+@example\.test$/);
      expect(order.items.length).toBeGreaterThanOrEqual(1);
      expect(order.items.length).toBeLessThanOrEqual(3);
      expect(new Set(order.items.map((i) => i.productId)).size).toBe(order.items.length);
      for (const item of order.items)
        expect(item).toEqual({ productId: expect.stringMatching(/^[abcd]$/), quantity: 1 });
    }
  });

  it('orders the products the inventory front lists with stock, else p-001..p-010', async () => {
    const inventory = await serve((_, response) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          items: [
            { id: 'p-777', stock: 5 },
            { id: 'p-000', stock: 0 },
          ],
        }),
      ),
    );
    const { url, received } = await serve(created);
    const report = await startLoad({ url, productsUrl: inventory.url, rate: 50, durationMs: 100 }).done;
    expect(report.products).toEqual(['p-777']);
    expect(received.every((r) => r.body.includes('"productId":"p-777"'))).toBe(true);

    const closed = `http://127.0.0.1:${(servers[0]!.address() as AddressInfo).port}`; // the inventory, closed next
    servers[0]!.closeAllConnections();
    await new Promise((resolve) => servers.shift()!.close(resolve));
    const fallback = await startLoad({ url, productsUrl: closed, rate: 50, durationMs: 100 }).done;
    expect(fallback.products).toEqual([
      'p-001',
      'p-002',
      'p-003',
      'p-004',
      'p-005',
      'p-006',
      'p-007',
      'p-008',
      'p-009',
      'p-010',
    ]);
  });

  it('counts errors by kind: HTTP statuses, timeouts and refused connections', async () => {
    let n = 0;
    const { url } = await serve((_, response) => {
      n += 1;
      if (n % 4 === 1) response.writeHead(503).end();
      else if (n % 4 === 2) response.writeHead(409).end();
      else if (n % 4 === 3)
        return; // never answers: a timeout
      else response.writeHead(201).end();
    });
    const report = await startLoad({
      url,
      rate: 100,
      maxRequests: 20,
      durationMs: 5_000,
      timeoutMs: 200,
      products: ['p'],
    }).done;
    expect(report.sent).toBe(20);
    expect(report.errorsByKind).toEqual({ http_503: 5, http_409: 5, timeout: 5 });
    expect(report.succeeded).toBe(5);
    expect(report.failed).toBe(15);
    expect(report.successRatio).toBe(0.25);

    const port = (servers[0]!.address() as AddressInfo).port;
    servers[0]!.closeAllConnections();
    await new Promise((resolve) => servers.shift()!.close(resolve));
    const refused = await startLoad({
      url: `http://127.0.0.1:${port}`,
      rate: 50,
      maxRequests: 5,
      products: ['p'],
    }).done;
    expect(refused.errorsByKind).toEqual({ ECONNREFUSED: 5 });
  });

  it('drops requests beyond maxInFlight as overload instead of queueing them', async () => {
    const { url } = await serve(() => undefined); // answers nothing
    const report = await startLoad({
      url,
      rate: 100,
      maxRequests: 10,
      timeoutMs: 300,
      maxInFlight: 2,
      products: ['p'],
    }).done;
    expect(report.sent).toBe(10);
    expect(report.errorsByKind['timeout']).toBe(2);
    expect(report.errorsByKind['overload']).toBe(8);
  });

  it('stops on stop() and on an aborted signal, keeping live counters meanwhile', async () => {
    const { url, received } = await serve(created);
    const load = startLoad({ url, rate: 100, durationMs: 60_000, products: ['p'] });
    const deadline = Date.now() + 10_000;
    while (load.snapshot().succeeded < 10 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const live = load.snapshot();
    expect(live.succeeded).toBeGreaterThanOrEqual(10);
    expect(live.succeeded).toBeLessThanOrEqual(live.sent);
    load.stop();
    const report = await load.done;
    // Stopped long before the 6,000 scheduled requests; every one sent was answered, none after.
    expect(report.sent).toBeGreaterThanOrEqual(live.sent);
    expect(report.sent).toBeLessThan(6_000);
    expect(received.length).toBe(report.sent);

    const abort = new AbortController();
    const aborted = startLoad({ url, rate: 100, durationMs: 60_000, products: ['p'], signal: abort.signal });
    abort.abort();
    expect((await aborted.done).sent).toBeLessThan(10);
  });

  it('refuses targets that are not this machine, and out-of-range rates', () => {
    expect(() => startLoad({ url: 'http://example.com:8080', rate: 1 })).toThrow(
      'url must point at this machine (127.0.0.1 or localhost): refusing example.com',
    );
    expect(() =>
      startLoad({ url: 'http://127.0.0.1:8080', productsUrl: 'http://10.0.0.1', rate: 1 }),
    ).toThrow('refusing 10.0.0.1');
    expect(() => localUrl('https://localhost')).toThrow('must use http:');
    expect(() => startLoad({ url: 'http://127.0.0.1:1', rate: 0 })).toThrow('rate must be between 1 and');
    expect(() => startLoad({ url: 'http://127.0.0.1:1', rate: 1, durationMs: -1 })).toThrow(
      'duration must be',
    );
    expect(localUrl('http://localhost:8080/orders').pathname).toBe('/orders');
  });
});

describe('percentiles', () => {
  it('are nearest-rank over known latencies, within the histogram precision (0.1 %) and never above the max', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    expect(summarise(values)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 });
    expect(summarise([5, 1, 3])).toEqual({ p50: 3, p95: 5, p99: 5, max: 5 });
    expect(percentile([], 99)).toBe(0);
    expect(summarise([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000])).toMatchObject({ p50: 5, p95: 1000, max: 1000 });
    // 12 345.678 ms: 3 significant digits of microseconds keep it within 0.1 %.
    expect(Math.abs(percentile([12_345.678], 50) - 12_345.678)).toBeLessThanOrEqual(12.35);
    expect(summarise([0.25, 0.5, 0.75, 1])).toEqual({ p50: 0.5, p95: 1, p99: 1, max: 1 });
  });

  it('refuses a negative or non-finite duration and a percentile outside 0..100', () => {
    expect(() => summarise([-1])).toThrow('finite number >= 0');
    expect(() => summarise([Number.NaN])).toThrow('finite number >= 0');
    expect(() => percentilesOf([1]).at(101)).toThrow('within 0..100');
  });
});

describe('report format', () => {
  it('reads durations and prints the summary', () => {
    expect([
      parseDuration('60s'),
      parseDuration('2m'),
      parseDuration('1500ms'),
      parseDuration('1m30s'),
    ]).toEqual([60_000, 120_000, 1_500, 90_000]);
    expect(() => parseDuration('soon')).toThrow('invalid duration "soon"');
    expect(() => parseDuration('3')).toThrow('a bare number has no unit');
    const text = summaryText({
      sent: 10,
      succeeded: 8,
      failed: 2,
      successRatio: 0.8,
      latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 },
      errorsByKind: { http_503: 1, timeout: 1 },
      durationMs: 1000,
      rate: 10,
      achievedRate: 10,
      startedAt: '',
      endedAt: '',
      products: [],
      acknowledged: [],
      failedTraces: [
        { traceId: 'a'.repeat(32), kind: 'http_503', idempotencyKey: 'k1', at: '2026-12-02T00:00:00.000Z' },
        { traceId: 'b'.repeat(32), kind: 'timeout', idempotencyKey: 'k2', at: '2026-12-02T00:00:01.000Z' },
      ],
      failedTracesOmitted: 0,
    });
    expect(text).toContain('success ratio 80.00%');
    expect(text).toContain('latency ms: p50 1  p95 2  p99 3  max 4');
    expect(text).toContain('errors: http_503 1, timeout 1');
    expect(text).toContain('traces of failed requests (2, first 2; all in --json):');
    expect(text).toContain(`  ${'b'.repeat(32)}  timeout  2026-12-02T00:00:01.000Z`);
  });
});
