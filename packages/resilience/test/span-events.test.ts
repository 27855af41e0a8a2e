import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { RESILIENCE_SPAN_EVENTS, SPAN_ATTRIBUTES } from '@self-healing-shop/contracts';
import { dependencyMetrics, hedgeMetrics } from '../src/metrics/metrics.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

function inSpan(run: () => void) {
  exporter.reset();
  provider.getTracer('test').startActiveSpan('call', (span) => {
    run();
    span.end();
  });
  const [finished] = exporter.getFinishedSpans();
  return finished!.events.map((e) => ({ name: e.name, attributes: e.attributes }));
}

describe('resilience events on the active span', () => {
  it('records retries with their attempt number and the dependency', () => {
    const metrics = dependencyMetrics(new Registry(), 'inventory');
    expect(inSpan(() => metrics.retry(2, 50))).toEqual([
      {
        name: RESILIENCE_SPAN_EVENTS.retry,
        attributes: {
          [SPAN_ATTRIBUTES.dependency]: 'inventory',
          'shop.attempt': 2,
          'shop.retry.delay_ms': 50,
        },
      },
    ]);
  });

  it('records timeouts, circuit and limit rejections and fallbacks, not successes or plain failures', () => {
    const metrics = dependencyMetrics(new Registry(), 'notification');
    const events = inSpan(() => {
      for (const outcome of [
        'success',
        'failure',
        'timeout',
        'rejected_open',
        'rejected_bulkhead',
        'rejected_limit',
        'fallback',
      ] as const) {
        metrics.call(outcome, 0.01);
      }
    });
    expect(events.map((e) => [e.name, e.attributes?.['shop.outcome']])).toEqual([
      [RESILIENCE_SPAN_EVENTS.timeout, 'timeout'],
      [RESILIENCE_SPAN_EVENTS.circuitRejected, 'rejected_open'],
      [RESILIENCE_SPAN_EVENTS.limitRejected, 'rejected_bulkhead'],
      [RESILIENCE_SPAN_EVENTS.limitRejected, 'rejected_limit'],
      [RESILIENCE_SPAN_EVENTS.fallback, 'fallback'],
    ]);
    expect(events.every((e) => e.attributes?.[SPAN_ATTRIBUTES.dependency] === 'notification')).toBe(true);
  });

  it('records what became of a hedge', () => {
    const hedge = hedgeMetrics(new Registry(), 'inventory');
    expect(inSpan(() => hedge('won'))).toEqual([
      {
        name: RESILIENCE_SPAN_EVENTS.hedge,
        attributes: { [SPAN_ATTRIBUTES.dependency]: 'inventory', 'shop.hedge.outcome': 'won' },
      },
    ]);
  });
});
