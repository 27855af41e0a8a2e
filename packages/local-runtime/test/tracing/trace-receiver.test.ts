import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { RESILIENCE_SPAN_EVENTS } from '@self-healing-shop/contracts';
import type { TraceList, TraceView } from '@self-healing-shop/contracts';
import { createControlApi } from '../../src/control-plane/control-api.ts';
import { EventLog } from '../../src/control-plane/event-log.ts';
import { registerTraceMetrics } from '../../src/tracing/trace-metrics.ts';
import { TraceStore } from '../../src/tracing/trace-store.ts';
import { exportOrderTrace } from './otel-spans.ts';

/** A span in OTLP/JSON as the specification's example writes it. */
function otlpSpan(traceId: string, spanId: string, extra: Record<string, unknown> = {}) {
  return {
    traceId,
    spanId,
    name: 'GET /products',
    kind: 2,
    startTimeUnixNano: '1764633600000000000',
    endTimeUnixNano: '1764633600250000000',
    attributes: [
      { key: 'http.response.status_code', value: { intValue: '200' } },
      { key: 'flags', value: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }] } } },
    ],
    ...extra,
  };
}

function exportOf(service: string, spans: unknown[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'test' }, spans }],
      },
    ],
  };
}

describe('trace receiver and query API on the control API', () => {
  const store = new TraceStore();
  const registry = new Registry();
  registerTraceMetrics(registry, store);
  const { server } = createControlApi({
    events: new EventLog(),
    replicas: () => [],
    workloads: () => [],
    kill: () => false,
    restart: () => false,
    metrics: () => registry.metrics(),
    info: () => ({
      pid: 1,
      state: 'running',
      fronts: {},
      controlUrl: '',
      prometheusUrl: null,
      databaseUrl: null,
      consoleUrl: null,
      alertmanagerUrl: null,
    }),
    traces: store,
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => fetch(`${url}/v1/traces`, { method: 'POST', headers, body });

  it('keeps the spans the OpenTelemetry OTLP/HTTP exporter sends, as one trace across services', async () => {
    const exported = await exportOrderTrace(url, {
      orderId: 'ord-otel-1',
      idempotencyKey: 'key-otel-1',
      failed: true,
    });
    const response = await fetch(`${url}/traces/${exported.traceId}`);
    expect(response.status).toBe(200);
    const trace = (await response.json()) as TraceView;
    expect(trace).toMatchObject({
      traceId: exported.traceId,
      name: 'POST /orders',
      service: 'order',
      services: ['inventory', 'order'],
      spanCount: 3,
      errorCount: 1,
      orderIds: ['ord-otel-1'],
      idempotencyKeys: ['key-otel-1'],
    });
    const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
    expect(byId.get(exported.orderSpanId)).toMatchObject({
      parentSpanId: null,
      kind: 'SERVER',
      status: { code: 'ERROR', message: 'inventory unavailable' },
      resource: { 'service.instance.id': 'order-abc-1' },
    });
    expect(byId.get(exported.reserveSpanId)).toMatchObject({
      parentSpanId: exported.orderSpanId,
      kind: 'CLIENT',
      attributes: { 'shop.dependency': 'inventory' },
      events: [{ name: RESILIENCE_SPAN_EVENTS.retry, attributes: { attempt: 1, reason: 'ECONNRESET' } }],
    });
    expect(byId.get(exported.inventorySpanId)).toMatchObject({
      parentSpanId: exported.reserveSpanId,
      service: 'inventory',
      kind: 'SERVER',
    });
    for (const span of trace.spans) {
      expect(span.offsetMs).toBeGreaterThanOrEqual(0);
      expect(span.durationMs).toBeGreaterThanOrEqual(0);
    }
    const confirmation = (await (
      await fetch(`${url}/traces/${exported.confirmationTraceId}`)
    ).json()) as TraceView;
    expect(confirmation.spans[0]!.links).toEqual([
      { traceId: exported.traceId, spanId: exported.orderSpanId, attributes: { 'shop.link': 'order' } },
    ]);
  });

  it('finds traces by order id, idempotency key, service and error, newest first', async () => {
    const ok = await exportOrderTrace(url, { orderId: 'ord-find-ok', idempotencyKey: 'key-find-ok' });
    const failed = await exportOrderTrace(url, {
      orderId: 'ord-find-bad',
      idempotencyKey: 'key-find-bad',
      failed: true,
    });
    const list = async (query: string) =>
      ((await (await fetch(`${url}/traces?${query}`)).json()) as TraceList).items.map((t) => t.traceId);
    // The confirmation's own trace carries the order id too.
    expect(await list('orderId=ord-find-ok')).toHaveLength(2);
    expect(await list('orderId=ord-find-ok')).toContain(ok.traceId);
    expect(await list('idempotencyKey=key-find-bad')).toEqual([failed.traceId]);
    expect(await list('orderId=ord-find-ok&error=true')).toEqual([]);
    expect(await list('error=true')).toContain(failed.traceId);
    expect(await list('error=false')).not.toContain(failed.traceId);
    expect(await list('service=inventory&limit=1')).toEqual([failed.traceId]);
    expect(await list('service=nobody')).toEqual([]);
  });

  it('decodes AnyValue attributes, names the service from the resource and answers {} on success', async () => {
    const traceId = '5b8efff798038103d269b633813fc60c';
    const response = await post(
      JSON.stringify(exportOf('inventory', [otlpSpan(traceId, 'eee19b7ec3c1b174')])),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({});
    const trace = (await (await fetch(`${url}/traces/${traceId.toUpperCase()}`)).json()) as TraceView;
    expect(trace.spans[0]).toMatchObject({
      service: 'inventory',
      kind: 'SERVER',
      startedAt: '2025-12-02T00:00:00.000Z',
      durationMs: 250,
      status: { code: 'UNSET' },
      attributes: { 'http.response.status_code': 200, flags: [true, 1.5] },
    });
  });

  it('accepts a gzip body', async () => {
    const traceId = '6b8efff798038103d269b633813fc60c';
    const body = gzipSync(JSON.stringify(exportOf('order', [otlpSpan(traceId, 'aee19b7ec3c1b174')])));
    const response = await post(body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect((await fetch(`${url}/traces/${traceId}`)).status).toBe(200);
  });

  it('answers a partial success naming the spans it rejected, and keeps the others', async () => {
    const traceId = '7b8efff798038103d269b633813fc60c';
    const response = await post(
      JSON.stringify(
        exportOf('order', [otlpSpan(traceId, 'bee19b7ec3c1b174'), otlpSpan('not-hex', 'cee19b7ec3c1b174')]),
      ),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      partialSuccess: { rejectedSpans: number; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedSpans).toBe(1);
    expect(body.partialSuccess.errorMessage).toMatch(/traceId must be a non-zero hex string/);
    expect(((await (await fetch(`${url}/traces/${traceId}`)).json()) as TraceView).spanCount).toBe(1);
    expect(await registry.metrics()).toMatch(/runtime_trace_spans_dropped_total\{reason="rejected"\} 1\n/);
  });

  it('answers 415 with a clear message for protobuf and 400 for JSON that is not an export', async () => {
    const protobuf = await post(Buffer.from([0x0a, 0x00]), { 'content-type': 'application/x-protobuf' });
    expect(protobuf.status).toBe(415);
    expect(((await protobuf.json()) as { message: string }).message).toMatch(/JSON only.*http\/json/);
    const broken = await post('{"resourceSpans": [');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const wrong = await post('{"resourceSpans": {"spans": 1}}');
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { message: string }).message).toBe('resourceSpans must be an array');
    expect((await fetch(`${url}/v1/traces`)).status).toBe(405);
  });

  it('answers 400 for bad query parameters and 404 for a trace it does not keep', async () => {
    for (const query of ['limit=0', 'limit=x', 'error=maybe']) {
      const response = await fetch(`${url}/traces?${query}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
    }
    expect((await fetch(`${url}/traces/xyz`)).status).toBe(400);
    expect((await fetch(`${url}/traces/${'a'.repeat(32)}`)).status).toBe(404);
  });

  it('exports the store figures as metrics', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/^runtime_trace_spans_kept \d+$/m);
    expect(text).toMatch(/^runtime_traces_kept \d+$/m);
    expect(text).toMatch(/^runtime_trace_spans_received_total \d+$/m);
    expect(text).toMatch(/^runtime_trace_spans_dropped_total\{reason="evicted"\} 0$/m);
  });
});
