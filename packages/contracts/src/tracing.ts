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

/**
 * The local runtime's trace query API (control API, `GET /traces` and `GET /traces/:traceId`), as the
 * runtime serves it and the console and the chaos report read it. Ids are lowercase hex (trace 32
 * characters, span 16), as in OTLP/JSON; times are ISO 8601 with milliseconds plus offsets in ms.
 */
export type SpanAttributeValue =
  | string
  | number
  | boolean
  | null
  | readonly SpanAttributeValue[]
  | { readonly [key: string]: SpanAttributeValue };

export type SpanStatusCode = 'UNSET' | 'OK' | 'ERROR';

/** One item of `GET /traces` (newest first). */
export interface TraceSummary {
  readonly traceId: string;
  /** The root span's name, else the earliest span's (the root may not have arrived yet). */
  readonly name: string;
  /** The service of that span. */
  readonly service: string;
  /** Every service with a span in the trace, sorted. */
  readonly services: readonly string[];
  /** The earliest span's start. */
  readonly startedAt: string;
  /** From the earliest start to the latest end. */
  readonly durationMs: number;
  readonly spanCount: number;
  /** Spans with status ERROR. */
  readonly errorCount: number;
  /** Values of `shop.order.id` / `shop.idempotency_key` found on its spans. */
  readonly orderIds: readonly string[];
  readonly idempotencyKeys: readonly string[];
}

export interface SpanEventView {
  readonly name: string;
  readonly at: string;
  /** Since the trace's start. */
  readonly offsetMs: number;
  readonly attributes: Readonly<Record<string, SpanAttributeValue>>;
}

export interface SpanLinkView {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Readonly<Record<string, SpanAttributeValue>>;
}

export interface SpanView {
  readonly spanId: string;
  /** null for a root span. */
  readonly parentSpanId: string | null;
  readonly name: string;
  /** OTLP span kind without its prefix: INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER, UNSPECIFIED. */
  readonly kind: string;
  /** The resource's `service.name`. */
  readonly service: string;
  readonly startedAt: string;
  /** Since the trace's start. */
  readonly offsetMs: number;
  readonly durationMs: number;
  readonly status: { readonly code: SpanStatusCode; readonly message?: string };
  readonly attributes: Readonly<Record<string, SpanAttributeValue>>;
  /** Resource attributes other than service.name (service.instance.id, host, ...). */
  readonly resource: Readonly<Record<string, SpanAttributeValue>>;
  readonly events: readonly SpanEventView[];
  readonly links: readonly SpanLinkView[];
}

/** `GET /traces/:traceId`: the summary and every span kept, sorted by start. */
export interface TraceView extends TraceSummary {
  readonly spans: readonly SpanView[];
}

/** `GET /traces` answer. */
export interface TraceList {
  readonly items: readonly TraceSummary[];
}

/** The Grafana datasource uid of the trace backend on KIND (monitoring/kube-prometheus-stack-values.yaml). */
export const TRACES_DATASOURCE_UID = 'jaeger';

/**
 * Where a person sees one trace: the console's trace view on the local runtime, Grafana's Explore on the
 * trace datasource on KIND. Both listen on the same host port (`LOCAL_PORTS.console`, Grafana's on KIND).
 */
export function traceViewUrl(
  traceId: string,
  runtime: 'local' | 'kubernetes',
  base = 'http://127.0.0.1:3000',
): string {
  const root = base.replace(/\/$/, '');
  if (runtime === 'local') return `${root}/#/traces/${traceId}`;
  const pane = {
    datasource: TRACES_DATASOURCE_UID,
    queries: [{ refId: 'A', datasource: { type: 'jaeger', uid: TRACES_DATASOURCE_UID }, query: traceId }],
    range: { from: 'now-6h', to: 'now' },
  };
  return `${root}/explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify({ trace: pane }))}`;
}
