// Head sampling at the door (tracing-sdk.ts): which requests are traced at all, and what the SDK's
// sampler records once the door has decided. Expected decisions come from the W3C Trace Context flags
// and the OpenTelemetry samplers' specification, not from the code.
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Link } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { admitsRequest, configuredSampler, DoorSampler } from '../src/tracing/tracing-sdk.ts';
import { defaultSampler, tracingConfig } from '../src/tracing/tracing-config.ts';
import { TRACING_ENV } from '@self-healing-shop/contracts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceparent = (sampled: boolean) => `00-${hex(16)}-${hex(8)}-${sampled ? '01' : '00'}`;
const ratio = (r: number) => configuredSampler({ sampler: 'parentbased_traceidratio', ratio: r });

describe('the door: which incoming requests are traced', () => {
  it('follows a sampled or unsampled traceparent with a parent-based sampler, whatever the ratio', () => {
    expect(admitsRequest(ratio(0), { traceparent: traceparent(true) }, '/orders')).toBe(true);
    expect(admitsRequest(ratio(1), { traceparent: traceparent(false) }, '/orders')).toBe(false);
  });

  it('starts new traces at the ratio for requests without a traceparent', () => {
    const admitted = Array.from({ length: 4_000 }, () => admitsRequest(ratio(0.1), {}, '/orders')).filter(
      Boolean,
    ).length;
    // Binomial(4000, 0.1): mean 400, standard deviation 19; 250..550 is more than 7 deviations wide.
    expect(admitted).toBeGreaterThan(250);
    expect(admitted).toBeLessThan(550);
    expect(admitsRequest(ratio(1), {}, '/orders')).toBe(true);
    expect(admitsRequest(ratio(0), {}, '/orders')).toBe(false);
  });

  it('never traces probes and scrapes, even inside a sampled trace', () => {
    for (const path of ['/health', '/ready', '/metrics', '/ready?verbose=1'])
      expect(admitsRequest(ratio(1), { traceparent: traceparent(true) }, path)).toBe(false);
  });

  it('starts no trace in a service that only follows its callers (parentbased_always_off)', () => {
    const follower = configuredSampler({ sampler: defaultSampler(false), ratio: 0.1 });
    expect(admitsRequest(follower, {}, '/reservations')).toBe(false);
    expect(admitsRequest(follower, { traceparent: traceparent(true) }, '/reservations')).toBe(true);
  });

  it('ignores the parent with a sampler that is not parent-based (traceidratio 0)', () => {
    const none = configuredSampler({ sampler: 'traceidratio', ratio: 0 });
    expect(admitsRequest(none, { traceparent: traceparent(true) }, '/orders')).toBe(false);
  });

  it('treats a malformed traceparent as none', () => {
    expect(admitsRequest(ratio(0), { traceparent: 'not-a-traceparent' }, '/orders')).toBe(false);
    expect(admitsRequest(ratio(1), { traceparent: 'not-a-traceparent' }, '/orders')).toBe(true);
  });
});

describe('the SDK sampler once the door has decided', () => {
  const door = new DoorSampler();
  const decide = (kind: SpanKind, parent?: boolean, links: Link[] = []) => {
    const context =
      parent === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: hex(16),
            spanId: hex(8),
            traceFlags: parent ? TraceFlags.SAMPLED : TraceFlags.NONE,
          });
    return door.shouldSample(context, hex(16), 'span', kind, {}, links).decision;
  };
  const link = (sampled: boolean): Link => ({
    context: { traceId: hex(16), spanId: hex(8), traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE },
  });

  it('records the server span of a request let in', () => {
    expect(decide(SpanKind.SERVER)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('has a span inside a trace follow its parent', () => {
    expect(decide(SpanKind.CLIENT, false)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(SpanKind.INTERNAL, true)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('records a new trace that links to a sampled span (the outbox delivery of a sampled order) only then', () => {
    expect(decide(SpanKind.PRODUCER, undefined, [link(true)])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(SpanKind.PRODUCER, undefined, [link(false)])).toBe(SamplingDecision.NOT_RECORD);
  });

  it('starts no other trace: work outside the door and without a sampled link is not traced', () => {
    expect(decide(SpanKind.PRODUCER)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(SpanKind.INTERNAL)).toBe(SamplingDecision.NOT_RECORD);
  });
});

describe('the default sampler of a service', () => {
  const env = { [TRACING_ENV.endpoint]: 'http://127.0.0.1:7070' };
  it('starts traces at the edge and only follows callers further in, unless OTEL_TRACES_SAMPLER says otherwise', () => {
    expect(tracingConfig('order', env)?.sampler).toBe('parentbased_traceidratio');
    expect(tracingConfig('inventory', env, false)?.sampler).toBe('parentbased_always_off');
    expect(
      tracingConfig('inventory', { ...env, [TRACING_ENV.sampler]: 'parentbased_always_on' }, false)?.sampler,
    ).toBe('parentbased_always_on');
  });
});
