// Real spans from the OpenTelemetry SDK, exported by the real OTLP/HTTP JSON exporter to a receiver:
// what the services send once they are instrumented (issue 14, part 1).
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Link } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { RESILIENCE_SPAN_EVENTS, SPAN_ATTRIBUTES, OTLP_TRACES_PATH } from '@self-healing-shop/contracts';

export interface ExportedOrder {
  readonly traceId: string;
  readonly orderSpanId: string;
  readonly reserveSpanId: string;
  readonly inventorySpanId: string;
  readonly confirmationTraceId: string;
}

function provider(receiver: string, service: string): TracerProvider {
  const exporter = new OTLPTraceExporter({ url: `${receiver}${OTLP_TRACES_PATH}` });
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': `${service}-abc-1` }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
}

const propagator = new W3CTraceContextPropagator();
const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * One order's path as the services would trace it: order's server span, a client span to inventory
 * that is retried once (a span event) and fails the first time, inventory's server span (a child
 * through a real `traceparent`), and notification's outbox confirmation in a trace of its own, linked
 * to the order's span. `failed` marks the order span ERROR.
 */
export async function exportOrderTrace(
  receiver: string,
  options: { orderId: string; idempotencyKey: string; failed?: boolean },
): Promise<ExportedOrder> {
  propagation.setGlobalPropagator(propagator);
  const order = provider(receiver, 'order');
  const inventory = provider(receiver, 'inventory');
  const notification = provider(receiver, 'notification');
  const orderTracer = order.getTracer('test');
  const root = orderTracer.startSpan('POST /orders', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'POST', [SPAN_ATTRIBUTES.idempotencyKey]: options.idempotencyKey },
  });
  const rootContext = trace.setSpan(context.active(), root);
  const reserve = orderTracer.startSpan(
    'POST inventory /reservations',
    { kind: SpanKind.CLIENT },
    rootContext,
  );
  reserve.setAttribute(SPAN_ATTRIBUTES.dependency, 'inventory');
  await tick();
  reserve.addEvent(RESILIENCE_SPAN_EVENTS.retry, { attempt: 1, reason: 'ECONNRESET' });
  // inventory continues the trace from the traceparent header the client sent.
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(rootContext, reserve), carrier);
  const remote = propagation.extract(context.active(), carrier);
  const served = inventory
    .getTracer('test')
    .startSpan('POST /reservations', { kind: SpanKind.SERVER }, remote);
  served.setAttribute(SPAN_ATTRIBUTES.orderId, options.orderId);
  await tick();
  served.end();
  reserve.end();
  root.setAttribute(SPAN_ATTRIBUTES.orderId, options.orderId);
  if (options.failed) root.setStatus({ code: SpanStatusCode.ERROR, message: 'inventory unavailable' });
  await tick();
  root.end();
  const link: Link = { context: root.spanContext(), attributes: { 'shop.link': 'order' } };
  const confirmation = notification
    .getTracer('test')
    .startSpan('outbox confirmation', { kind: SpanKind.CONSUMER, links: [link], root: true });
  confirmation.setAttribute(SPAN_ATTRIBUTES.orderId, options.orderId);
  confirmation.end();
  await Promise.all([order.shutdown(), inventory.shutdown(), notification.shutdown()]);
  return {
    traceId: root.spanContext().traceId,
    orderSpanId: root.spanContext().spanId,
    reserveSpanId: reserve.spanContext().spanId,
    inventorySpanId: served.spanContext().spanId,
    confirmationTraceId: confirmation.spanContext().traceId,
  };
}
