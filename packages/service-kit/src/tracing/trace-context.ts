// What the services and the kit read from the active trace, with @opentelemetry/api only: when tracing
// is off the API is a no-op and every function here returns nothing at once.
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Attributes,
  type Link,
} from '@opentelemetry/api';
import { TRACEPARENT_HEADER } from '@self-healing-shop/contracts';
import type { RequestHandler } from 'express';

export interface TraceIds {
  readonly trace_id: string;
  readonly span_id: string;
  readonly trace_flags: string;
}

/** The ids of the active span (for log lines), or undefined outside a span. */
export function activeTraceIds(): TraceIds | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const ids = span.spanContext();
  if (!isSpanContextValid(ids)) return undefined;
  return {
    trace_id: ids.traceId,
    span_id: ids.spanId,
    trace_flags: `0${(ids.traceFlags & 0xff).toString(16)}`.slice(-2),
  };
}

/** The trace id of the active span when it is sampled (recorded and exported), else undefined. */
export function sampledTraceId(): string | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const ids = span.spanContext();
  return (ids.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED && isSpanContextValid(ids)
    ? ids.traceId
    : undefined;
}

/** The W3C `traceparent` of the active span, as the registered propagator writes it; null without one. */
export function activeTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier[TRACEPARENT_HEADER] ?? null;
}

/** A span link to the span a stored `traceparent` names; undefined when there is none or it is malformed. */
export function linkToTraceparent(
  traceparent: string | null | undefined,
  attributes?: Attributes,
): Link | undefined {
  if (!traceparent) return undefined;
  const spanContext = trace.getSpanContext(
    propagation.extract(ROOT_CONTEXT, { [TRACEPARENT_HEADER]: traceparent }),
  );
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  return { context: spanContext, ...(attributes ? { attributes } : {}) };
}

/** Sets attributes on the active span (no-op outside a span or when it is not recorded). */
export function setActiveSpanAttributes(attributes: Attributes): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording()) span.setAttributes(attributes);
}

let requestTracing: RequestHandler | undefined;

/** Called by the SDK when tracing starts (tracing-sdk.ts): the handler that opens a request's server span. */
export function setRequestTracing(handler: RequestHandler | undefined): void {
  requestTracing = handler;
}

/**
 * The first middleware of every service (create-service-app.ts): the server span of a request let in at
 * the door, the rest of the request running inside it. With tracing off, or for a request turned away,
 * it only calls `next()`.
 */
export function traceRequests(): RequestHandler {
  return requestTracing ?? ((_req, _res, next) => next());
}
