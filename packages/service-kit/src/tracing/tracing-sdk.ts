// Loaded only when tracing is on (start-tracing.ts imports it after registering the module hooks).
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { OTLP_TRACES_PATH } from '@self-healing-shop/contracts';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace';
import {
  context,
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
} from '@opentelemetry/api';
import type { TracingConfig } from './tracing-config.ts';

/** Probes and scrapes are not traced: they would be most of the spans and tell nothing. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * Head sampling at the door. Whether an incoming request is traced is decided before the http
 * instrumentation does any work for it: by the configured sampler, on the request's own `traceparent`
 * (parent-based samplers follow a sampled parent and drop an unsampled one; a request without one is a
 * new trace, at the ratio). A request turned away runs with tracing suppressed (the instrumentation's
 * ignore path): no span, no attributes, no `traceparent` on its calls, no pg or express spans. The
 * unsampled majority then costs next to nothing, where a non-recording span per hop cost a third of the
 * services' CPU per order (`bench:tracing`, service README "Tracing").
 */
const TRACE_CONTEXT = new W3CTraceContextPropagator();

export function admitsRequest(
  configured: Sampler,
  headers: IncomingHttpHeaders,
  url: string | undefined,
): boolean {
  if (UNTRACED_PATHS.has((url ?? '').split('?')[0] ?? '')) return false;
  const parentContext = TRACE_CONTEXT.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const traceId = trace.getSpanContext(parentContext)?.traceId ?? randomBytes(16).toString('hex');
  const decision = configured.shouldSample(parentContext, traceId, 'door', SpanKind.SERVER, {}, []).decision;
  return decision !== SamplingDecision.NOT_RECORD;
}

const sampled = (traceFlags: number) => (traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
const SAMPLE: SamplingResult = { decision: SamplingDecision.RECORD_AND_SAMPLED };
const DROP: SamplingResult = { decision: SamplingDecision.NOT_RECORD };

/**
 * The SDK's sampler once the door has decided. A server span exists only for a request let in at the
 * door, so it is recorded; a span inside a trace follows its parent; a new trace that links to spans
 * (the outbox delivery of an order, a trace of its own) is recorded when a linked span is; any other
 * new trace (work outside a request) is up to the configured sampler.
 */
export class DoorSampler implements Sampler {
  readonly #configured: Sampler;

  constructor(configured: Sampler) {
    this.#configured = configured;
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (spanKind === SpanKind.SERVER) return SAMPLE;
    const parent = trace.getSpanContext(context);
    if (parent !== undefined) return sampled(parent.traceFlags) ? SAMPLE : DROP;
    if (links.length > 0) return links.some((l) => sampled(l.context.traceFlags)) ? SAMPLE : DROP;
    return this.#configured.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `DoorSampler{${this.#configured.toString()}}`;
  }
}

export function configuredSampler(config: Pick<TracingConfig, 'sampler' | 'ratio'>): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.ratio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}

/**
 * The OpenTelemetry SDK set up as its README's Node.js setup does it: AsyncLocalStorage context, W3C
 * trace context (and baggage) propagation, a tracer provider whose spans are batched to OTLP/HTTP JSON,
 * and the http, express and pg instrumentations. Not `@opentelemetry/sdk-node`: it loads the
 * exporters of every signal and protocol (gRPC, protobuf, metrics, logs), seconds of start-up on a
 * busy 2-core machine for nothing we use. Metrics stay on prom-client, logs on pino.
 */
export function startSdk(config: TracingConfig): { shutdown(): Promise<void> } {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const configured = configuredSampler(config);
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        'service.name': config.serviceName,
        'service.instance.id': config.instanceId,
      }),
    ),
    sampler: new DoorSampler(configured),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${config.endpoint}${OTLP_TRACES_PATH}` }),
        scheduledDelayMillis: config.batchDelayMs,
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => !admitsRequest(configured, req.headers, req.url),
        // Background work (health checks of dependencies) starts no trace of its own.
        requireParentforOutgoingSpans: true,
      }),
      // Route handlers only (with the route pattern): one span per middleware or mounted router would
      // be most of the spans and of the cost, and tell nothing the server span does not.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER],
      }),
      // The outbox poll and the gauges' queries run outside any request: only queries inside a trace.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    ],
  });
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}
