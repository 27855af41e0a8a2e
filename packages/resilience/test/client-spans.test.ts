// The HTTP client's own CLIENT spans (src/http/client-span.ts): one per attempt inside a recorded span,
// each with the traceparent the dependency continues from; nothing at all outside one.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createHttpClient } from '../src/http/http-client.ts';
import { captureLogger, newRegistry } from './helpers.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();
const received: Array<{ path: string; traceparent: string | undefined }> = [];
let server: Server;
let baseURL: string;
let flakyHits = 0;

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  server = createServer((req: IncomingMessage, res) => {
    received.push({ path: req.url ?? '', traceparent: req.headers['traceparent'] as string | undefined });
    // The first call of /flaky answers 503, the second 200: one retry.
    const status = req.url === '/flaky' && flakyHits++ === 0 ? 503 : 200;
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await provider.shutdown();
  propagation.disable();
  trace.disable();
  context.disable();
});

beforeEach(() => {
  exporter.reset();
  received.length = 0;
  flakyHits = 0;
});

function client() {
  const { logger } = captureLogger();
  return createHttpClient(
    {
      dependency: 'inventory',
      baseURL,
      timeoutMs: 2_000,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
    },
    { registry: newRegistry(), logger },
  );
}

describe('client spans of the HTTP client', () => {
  it('opens one CLIENT span per attempt inside a recorded span, and sends each its own traceparent', async () => {
    const c = client();
    try {
      await provider.getTracer('test').startActiveSpan('order', async (parent) => {
        await c.get('/flaky');
        parent.end();
      });
    } finally {
      c.dispose();
    }
    const spans = exporter.getFinishedSpans();
    const parent = spans.find((s) => s.name === 'order')!;
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(attempts).toHaveLength(2);
    expect(received).toHaveLength(2);
    for (const [i, attempt] of attempts.entries()) {
      expect(attempt.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(attempt.attributes).toMatchObject({
        'http.request.method': 'GET',
        'url.full': `${baseURL}/flaky`,
        'server.address': '127.0.0.1',
        'server.port': Number(new URL(baseURL).port),
      });
      // W3C traceparent: version-traceid-spanid-flags; the dependency's parent is this attempt.
      const { traceId, spanId } = attempt.spanContext();
      expect(received[i]!.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    }
    expect(attempts[0]!.attributes['http.response.status_code']).toBe(503);
    expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts[1]!.attributes['http.response.status_code']).toBe(200);
    expect(attempts[1]!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks an attempt that got no answer with the network error', async () => {
    const { logger } = captureLogger();
    // A port that was just listened on and closed: nothing accepts there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = createHttpClient(
      { dependency: 'inventory', baseURL: `http://127.0.0.1:${port}`, timeoutMs: 2_000 },
      { registry: newRegistry(), logger },
    );
    try {
      await provider.getTracer('test').startActiveSpan('order', async (parent) => {
        await refused.get('/ok').catch(() => undefined);
        parent.end();
      });
    } finally {
      refused.dispose();
    }
    const [attempt] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(attempt?.attributes['error.type']).toBe('ECONNREFUSED');
    expect(attempt?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('adds no span and no traceparent outside a span, or inside one that is not recorded', async () => {
    const c = client();
    const unsampled = new TracerProvider({ sampler: new AlwaysOffSampler() });
    try {
      await c.get('/ok');
      await unsampled.getTracer('test').startActiveSpan('order', async (parent) => {
        await c.get('/ok');
        parent.end();
      });
    } finally {
      c.dispose();
      await unsampled.shutdown();
    }
    expect(received.map((r) => r.traceparent)).toEqual([undefined, undefined]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
