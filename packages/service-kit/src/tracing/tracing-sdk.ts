// Loaded only when tracing is on (start-tracing.ts imports it).
import type { IncomingHttpHeaders } from 'node:http';
import { OTLP_TRACES_PATH } from '@self-healing-shop/contracts';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
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
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Tracer,
} from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { routeOf } from '../http-metrics.ts';
import { setQueryTracing } from './query-spans.ts';
import { setRequestTracing } from './trace-context.ts';
import type { TracingConfig } from './tracing-config.ts';

/** Probes and scrapes are not traced: they would be most of the spans and tell nothing. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

const TRACE_CONTEXT = new W3CTraceContextPropagator();

/** A trace id for the ratio samplers' decision on a new trace: random enough, and no system call. */
function randomTraceId(): string {
  let id = '';
  for (let i = 0; i < 4; i++) id += ((Math.random() * 0x1_0000_0000) >>> 0).toString(16).padStart(8, '0');
  return id;
}

/**
 * Head sampling at the door. Whether an incoming request is traced is decided before any tracing work
 * is done for it: by the configured sampler, on the request's own `traceparent` (parent-based samplers
 * follow a sampled parent and drop an unsampled one; a request without one is a new trace, at the
 * ratio). A request turned away gets no span, no context and no `traceparent` on its calls (the HTTP
 * client adds one only inside a recorded span), and the database queries find no span to add to
 * (query-spans.ts): the unsampled majority costs next to nothing.
 */
export function admitsRequest(
  configured: Sampler,
  headers: IncomingHttpHeaders,
  url: string | undefined,
): boolean {
  return doorContext(configured, headers, url) !== undefined;
}

/** The door's decision: the caller's context (its `traceparent`, if any) for a request let in, else undefined. */
function doorContext(
  configured: Sampler,
  headers: IncomingHttpHeaders,
  url: string | undefined,
): Context | undefined {
  if (UNTRACED_PATHS.has((url ?? '').split('?')[0] ?? '')) return undefined;
  const parentContext = TRACE_CONTEXT.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const traceId = trace.getSpanContext(parentContext)?.traceId ?? randomTraceId();
  const decision = configured.shouldSample(parentContext, traceId, 'door', SpanKind.SERVER, {}, []).decision;
  return decision === SamplingDecision.NOT_RECORD ? undefined : parentContext;
}

const sampled = (traceFlags: number) => (traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
const SAMPLE: SamplingResult = { decision: SamplingDecision.RECORD_AND_SAMPLED };
const DROP: SamplingResult = { decision: SamplingDecision.NOT_RECORD };

/**
 * The SDK's sampler once the door has decided. A server span exists only for a request let in at the
 * door, so it is recorded; a span inside a trace follows its parent; a new trace that links to spans
 * (the outbox delivery of an order, a trace of its own) is recorded when a linked span is. Nothing else
 * starts a trace: new traces begin at the door (where the configured sampler decides) or from a sampled
 * link. Work with neither (the inline delivery of an order the door turned away, a release of stock,
 * the sweeps) is not traced.
 */
export class DoorSampler implements Sampler {
  shouldSample(
    context: Context,
    _traceId: string,
    _spanName: string,
    spanKind: SpanKind,
    _attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (spanKind === SpanKind.SERVER) return SAMPLE;
    const parent = trace.getSpanContext(context);
    if (parent !== undefined) return sampled(parent.traceFlags) ? SAMPLE : DROP;
    return links.some((l) => sampled(l.context.traceFlags)) ? SAMPLE : DROP;
  }

  toString(): string {
    return 'DoorSampler';
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
 * The server span of each request let in at the door, as the express middleware that runs first: the
 * span continues the caller's `traceparent`, the rest of the request (middleware, route, log lines,
 * the calls it makes) runs inside it, and the request and response emitters are bound to it so that
 * their listeners (body parsing, the request log, the latency histogram) see it too. Once answered it
 * is named after the Express route. It replaces instrumentation-http and -express, which did their work
 * (URL parsing, attributes, a context per request, a client path per outgoing call, route bookkeeping
 * on every middleware layer) for every request, traced or not.
 */
function serverSpans(configured: Sampler, tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    const parent = doorContext(configured, req.headers, req.url);
    if (parent === undefined) return next();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const span = tracer.startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'url.path': path,
          'url.scheme': 'http',
          'network.protocol.version': req.httpVersion,
          ...(req.socket.localPort === undefined ? {} : { 'server.port': req.socket.localPort }),
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    context.bind(active, req);
    context.bind(active, res);
    res.once('close', () => {
      const route = routeOf(req);
      if (route !== undefined) {
        span.setAttribute('http.route', route);
        span.updateName(`${req.method} ${route}`);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (!res.writableFinished) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away before the answer' });
      } else if (res.statusCode >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute('error.type', String(res.statusCode));
      }
      span.end();
    });
    context.with(active, next);
  };
}

/**
 * The OpenTelemetry SDK set up as its README's Node.js setup does it: AsyncLocalStorage context, W3C
 * trace context (and baggage) propagation, and a tracer provider whose spans are batched to OTLP/HTTP
 * JSON. The spans themselves are the kit's own: server spans (above), client spans (the resilience
 * package's HTTP client) and query spans (query-spans.ts); no instrumentation patches modules. Not
 * `@opentelemetry/sdk-node`: it loads the exporters of every signal and protocol (gRPC, protobuf, metrics, logs), seconds of start-up on a
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
    sampler: new DoorSampler(),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${config.endpoint}${OTLP_TRACES_PATH}` }),
        scheduledDelayMillis: config.batchDelayMs,
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  setRequestTracing(serverSpans(configured, provider.getTracer('@self-healing-shop/service-kit')));
  setQueryTracing(true);
  return {
    async shutdown() {
      setRequestTracing(undefined);
      setQueryTracing(false);
      await provider.shutdown();
    },
  };
}
