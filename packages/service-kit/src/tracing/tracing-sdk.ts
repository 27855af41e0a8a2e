// Loaded only when tracing is on (start-tracing.ts imports it after registering the module hooks).
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
  propagation,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
} from '@opentelemetry/api';
import type { TracingConfig } from './tracing-config.ts';

/** Probes and scrapes are not traced: they would be most of the spans and tell nothing. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * A new trace that links to a sampled span is sampled too: the outbox delivery of a sampled order is
 * recorded (its span starts a trace of its own and links to the order's). Everything else is up to
 * the configured sampler.
 */
class FollowSampledLinks implements Sampler {
  readonly #delegate: Sampler;

  constructor(delegate: Sampler) {
    this.#delegate = delegate;
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const root = trace.getSpanContext(context) === undefined;
    if (root && links.some((l) => (l.context.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.#delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `FollowSampledLinks{${this.#delegate.toString()}}`;
  }
}

export function sampler(config: Pick<TracingConfig, 'sampler' | 'ratio'>): Sampler {
  return new FollowSampledLinks(configuredSampler(config));
}

function configuredSampler(config: Pick<TracingConfig, 'sampler' | 'ratio'>): Sampler {
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
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        'service.name': config.serviceName,
        'service.instance.id': config.instanceId,
      }),
    ),
    sampler: sampler(config),
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
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
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
