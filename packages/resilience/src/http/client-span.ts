import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';

const tracer = trace.getTracer('@self-healing-shop/resilience');

/** What a client span is made of: one attempt of a call (the first, a retry or a hedge). */
export interface ClientAttempt {
  readonly method: string;
  /** The request's URL, relative to `baseURL` (parsed only for a traced attempt). */
  readonly url: string;
  readonly baseURL: string;
}

/**
 * Opens the CLIENT span of one attempt when the active span is recorded (a sampled trace) and writes
 * its `traceparent` into `headers`, so that the dependency continues the trace under this attempt. For
 * an unsampled request, or with tracing off, it does nothing and returns undefined: no span, no header.
 */
export function startClientSpan(attempt: ClientAttempt, headers: Record<string, string>): Span | undefined {
  const active = context.active();
  if (!trace.getSpan(active)?.isRecording()) return undefined;
  const url = new URL(attempt.url, attempt.baseURL);
  const attributes: Attributes = {
    'http.request.method': attempt.method,
    'url.full': url.href,
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
  };
  const span = tracer.startSpan(attempt.method, { kind: SpanKind.CLIENT, attributes }, active);
  propagation.inject(trace.setSpan(active, span), headers);
  return span;
}

/** Ends an attempt's span with the answer's status, or with the error when there was none. */
export function endClientSpan(span: Span | undefined, outcome: { status?: number; error?: string }): void {
  if (span === undefined) return;
  if (outcome.status !== undefined) span.setAttribute('http.response.status_code', outcome.status);
  if (outcome.error !== undefined || (outcome.status ?? 0) >= 500) {
    const type = outcome.error ?? String(outcome.status);
    span.setAttribute('error.type', type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  }
  span.end();
}
