import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RESILIENCE_SPAN_EVENTS, SPAN_ATTRIBUTES, TRACING_ENV } from '@self-healing-shop/contracts';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import {
  freePort,
  httpStatus,
  startOtlpReceiver,
  startProcess,
  until,
  type OtlpReceiver,
  type ReceivedSpan,
  type StartedProcess,
} from '@self-healing-shop/service-kit/testing';

const main = (service: string) => fileURLToPath(new URL(`../../${service}/src/main.ts`, import.meta.url));

// OTLP span kinds.
const SERVER = 2;
const CLIENT = 3;

let pg: RunningPostgres;
let receiver: OtlpReceiver;
let inventory: StartedProcess;
let notification: StartedProcess | undefined;
let order: StartedProcess;
let ports: { order: number; inventory: number; notification: number };

function tracing(service: string): Record<string, string> {
  return {
    [TRACING_ENV.endpoint]: receiver.url,
    [TRACING_ENV.serviceName]: service,
    // Order (the edge) starts a trace for every order without a traceparent, so that the test sees the
    // one it made; the default ratio is a separate concern. Inventory and notification keep their
    // default: they follow their caller's decision and start no trace of their own.
    ...(service === 'order' ? { [TRACING_ENV.sampler]: 'parentbased_always_on' } : {}),
    [TRACING_ENV.batchDelay]: '100',
  };
}

function startService(service: string, port: number, env: Record<string, string> = {}): StartedProcess {
  return startProcess(main(service), {
    DATABASE_URL: pg.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    POD_NAME: `${service}-trace-test`,
    ...tracing(service),
    ...env,
  });
}

const ready = (port: number) => async () => (await httpStatus(`http://127.0.0.1:${port}/ready`)) === 200;

beforeAll(async () => {
  [pg, receiver] = await Promise.all([startEmbeddedPostgres(), startOtlpReceiver()]);
  ports = { order: await freePort(), inventory: await freePort(), notification: await freePort() };
  inventory = startService('inventory', ports.inventory);
  // Notification is started by the outbox test: until then the confirmation waits in the outbox.
  order = startService('order', ports.order, {
    INVENTORY_URL: `http://127.0.0.1:${ports.inventory}`,
    NOTIFICATION_URL: `http://127.0.0.1:${ports.notification}`,
    OUTBOX_POLL_INTERVAL_MS: '100',
    OUTBOX_INITIAL_BACKOFF_MS: '100',
    OUTBOX_MAX_BACKOFF_MS: '200',
  });
  await until('inventory ready', ready(ports.inventory), 90_000);
  // Order's readiness checks notification; alive and migrated is what the test needs.
  await until(
    'order serving',
    async () => (await httpStatus(`http://127.0.0.1:${ports.order}/orders`)) === 200,
    90_000,
  );
}, 180_000);

afterAll(async () => {
  for (const p of [order, inventory, notification]) p?.child.kill('SIGKILL');
  await receiver?.close();
  await pg?.stop();
});

function spansOf(traceId: string): ReceivedSpan[] {
  return receiver.spans.filter((s) => s.traceId === traceId);
}

async function placeOrder(key: string): Promise<{ id: string; traceId: string }> {
  const response = await fetch(`http://127.0.0.1:${ports.order}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({
      customer: { email: 'ada@example.com' },
      items: [{ productId: 'p-001', quantity: 1 }],
    }),
  });
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  let traceId = '';
  await until('the order request span', () => {
    const server = receiver.spans.find(
      (s) =>
        s.service === 'order' &&
        s.kind === SERVER &&
        s.attributes['http.route'] === '/orders' &&
        spansOf(s.traceId).some((x) => x.attributes[SPAN_ATTRIBUTES.orderId] === id),
    );
    traceId = server?.traceId ?? '';
    return server !== undefined;
  });
  return { id, traceId };
}

describe('tracing across real service processes', () => {
  let placed: { id: string; traceId: string };
  // One order, placed while notification is down, that every test reads (in any order).
  beforeAll(async () => {
    placed = await placeOrder('trace-test-1');
  }, 30_000);

  it('records one trace for an order: the server span named by its route, pg queries and the call to inventory', async () => {
    await until('inventory spans of the order', () =>
      spansOf(placed.traceId).some((s) => s.service === 'inventory' && s.kind === SERVER),
    );
    const spans = spansOf(placed.traceId);
    const orderSpans = spans.filter((s) => s.service === 'order');
    const server = orderSpans.find((s) => s.kind === SERVER)!;
    expect(server.parentSpanId).toBe('');
    // The server span is named after the Express route and carries the order's attributes.
    expect(server.name).toBe('POST /orders');
    expect(server.attributes).toMatchObject({ 'http.route': '/orders', 'http.response.status_code': 201 });
    expect(server.attributes).toMatchObject({
      [SPAN_ATTRIBUTES.orderId]: placed.id,
      [SPAN_ATTRIBUTES.idempotencyKey]: 'trace-test-1',
      [SPAN_ATTRIBUTES.productId]: ['p-001'],
    });
    expect(
      orderSpans.filter(
        (s) => s.attributes['db.system.name'] === 'postgresql' || s.attributes['db.system'] === 'postgresql',
      ).length,
    ).toBeGreaterThan(0);
    const toInventory = orderSpans.find(
      (s) =>
        s.kind === CLIENT &&
        String(s.attributes['server.port'] ?? s.attributes['net.peer.port']) === String(ports.inventory),
    );
    expect(toInventory).toBeDefined();
    // Inventory's server span is the child of order's client span: the traceparent crossed the hop.
    const inventoryServer = spans.find((s) => s.service === 'inventory' && s.kind === SERVER)!;
    expect(inventoryServer.parentSpanId).toBe(toInventory!.spanId);
    expect(spans.some((s) => s.service === 'inventory' && s.name.startsWith('pg'))).toBe(true);
  }, 30_000);

  it('delivers the confirmation from the outbox in a span that links to the order and reaches notification', async () => {
    // The inline send failed (notification was down) and retried once: a span event on the call.
    await until('the inline delivery span', () =>
      spansOf(placed.traceId).some((s) => s.name === 'outbox deliver order-confirmation'),
    );
    const inline = spansOf(placed.traceId).find((s) => s.name === 'outbox deliver order-confirmation')!;
    const retries = spansOf(placed.traceId)
      .flatMap((s) => s.events)
      .filter((e) => e.name === RESILIENCE_SPAN_EVENTS.retry);
    expect(retries[0]?.attributes).toMatchObject({ [SPAN_ATTRIBUTES.dependency]: 'notification' });
    expect(inline.attributes[SPAN_ATTRIBUTES.orderId]).toBe(placed.id);

    notification = startService('notification', ports.notification);
    let delivery: ReceivedSpan | undefined;
    await until(
      'the dispatcher delivery span',
      () => {
        delivery = receiver.spans.find(
          (s) =>
            s.name === 'outbox deliver order-confirmation' &&
            s.traceId !== placed.traceId &&
            s.attributes[SPAN_ATTRIBUTES.orderId] === placed.id &&
            spansOf(s.traceId).some((n) => n.service === 'notification' && n.kind === SERVER),
        );
        return delivery !== undefined;
      },
      90_000,
    );
    // A trace of its own that links to the span of the order request that wrote the row.
    expect(delivery!.parentSpanId).toBe('');
    const writer = spansOf(placed.traceId).find((s) => s.spanId === delivery!.links[0]?.spanId);
    expect(delivery!.links[0]?.traceId).toBe(placed.traceId);
    expect(writer?.service).toBe('order');
    const notificationServer = spansOf(delivery!.traceId).find(
      (s) => s.service === 'notification' && s.kind === SERVER,
    )!;
    const client = spansOf(delivery!.traceId).find((s) => s.spanId === notificationServer.parentSpanId)!;
    expect(client.kind).toBe(CLIENT);
    expect(client.parentSpanId).toBe(delivery!.spanId);
  }, 120_000);

  it('records nothing of an order whose traceparent says "not sampled", in any service', async () => {
    const traceId = randomBytes(16).toString('hex');
    const response = await fetch(`http://127.0.0.1:${ports.order}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': 'trace-test-unsampled',
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-00`,
      },
      body: JSON.stringify({
        customer: { email: 'ada@example.com' },
        items: [{ productId: 'p-002', quantity: 1 }],
      }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    // An order placed after it, traced: once its inventory span has arrived, the first order's spans
    // (ended earlier, exported in the same or an earlier batch) would have arrived too.
    const later = await placeOrder('trace-test-after-unsampled');
    await until('inventory spans of the later order', () =>
      spansOf(later.traceId).some((s) => s.service === 'inventory' && s.kind === SERVER),
    );
    expect(receiver.spans.filter((s) => s.attributes[SPAN_ATTRIBUTES.orderId] === id)).toEqual([]);
    expect(spansOf(traceId)).toEqual([]);
    // Inventory started no trace of its own for the reservation it got without a traceparent.
    expect(
      receiver.spans.filter((s) => s.service === 'inventory' && s.kind === SERVER && s.parentSpanId === ''),
    ).toEqual([]);
  }, 30_000);

  it('writes trace_id and span_id on the log lines written inside the order request', () => {
    const lines = order
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const confirmed = lines.find((l) => l.msg === 'order confirmed' && l.orderId === placed.id);
    expect(confirmed?.trace_id).toBe(placed.traceId);
    expect(confirmed?.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(lines.find((l) => l.msg === 'listening')?.trace_id).toBeUndefined();
  });

  it('serves the request-duration histogram with a trace_id exemplar in OpenMetrics, plain text by default', async () => {
    // A bucket keeps the exemplar of its latest observation: an order of its own, placed last, so that no
    // other traced order of this file (the one after the unsampled order) took its bucket's exemplar.
    const own = await placeOrder('trace-test-exemplar');
    const url = `http://127.0.0.1:${ports.order}/metrics`;
    const open = await fetch(url, {
      headers: {
        accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      },
    });
    expect(open.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1.0.0/);
    const body = await open.text();
    const exemplars = body
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('http_server_request_duration_seconds_bucket{') &&
          l.includes('route="/orders"') &&
          l.includes('method="POST"'),
      )
      .map((l) => /# \{trace_id="([0-9a-f]{32})"\}/.exec(l)?.[1])
      .filter((id) => id !== undefined);
    expect(exemplars).toContain(own.traceId);
    expect(body.trimEnd().endsWith('# EOF')).toBe(true);

    const plain = await fetch(url);
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await plain.text();
    expect(text).not.toContain('trace_id');
    // Rendering OpenMetrics first must not rename the counters of the plain format.
    expect(text).toMatch(/^orders_total\{/m);
  });
});
