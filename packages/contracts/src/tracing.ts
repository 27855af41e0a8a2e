/**
 * Distributed tracing (OpenTelemetry). Every service exports its spans over OTLP/HTTP to the endpoint
 * in `OTEL_EXPORTER_OTLP_ENDPOINT` (the SDK appends `/v1/traces`): on the local runtime its control API
 * receives them and keeps recent traces in memory; on KIND the trace backend's collector does.
 * Propagation is W3C Trace Context (`traceparent`) on every hop, the outbox included.
 */

/** The standard OpenTelemetry environment variables the services read (names from the OTel spec). */
export const TRACING_ENV = {
  endpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  serviceName: 'OTEL_SERVICE_NAME',
  sampler: 'OTEL_TRACES_SAMPLER',
  samplerArg: 'OTEL_TRACES_SAMPLER_ARG',
  /** `none` turns tracing off (OTel's own convention for OTEL_TRACES_EXPORTER). */
  exporter: 'OTEL_TRACES_EXPORTER',
  /** Milliseconds between two exports of the batched spans (OTel's OTEL_BSP_SCHEDULE_DELAY). */
  batchDelay: 'OTEL_BSP_SCHEDULE_DELAY',
} as const;

/** The path an OTLP/HTTP receiver accepts spans on (OTLP specification). */
export const OTLP_TRACES_PATH = '/v1/traces';

/** The W3C Trace Context header. */
export const TRACEPARENT_HEADER = 'traceparent';

/** Span attributes the platform sets, so that a trace can be found by the business object it served. */
export const SPAN_ATTRIBUTES = {
  orderId: 'shop.order.id',
  idempotencyKey: 'shop.idempotency_key',
  productId: 'shop.product.id',
  /** The dependency a resilience policy guards (inventory, notification, database). */
  dependency: 'shop.dependency',
} as const;

/** Span event names for what the resilience policies do inside a call. */
export const RESILIENCE_SPAN_EVENTS = {
  retry: 'resilience.retry',
  hedge: 'resilience.hedge',
  circuitRejected: 'resilience.circuit_rejected',
  fallback: 'resilience.fallback',
  degraded: 'resilience.degraded',
  timeout: 'resilience.timeout',
  limitRejected: 'resilience.limit_rejected',
} as const;
