import { trace, type Attributes } from '@opentelemetry/api';
import { RESILIENCE_SPAN_EVENTS, SPAN_ATTRIBUTES } from '@self-healing-shop/contracts';
import type { CallOutcome } from './metrics.ts';

export type ResilienceSpanEvent = (typeof RESILIENCE_SPAN_EVENTS)[keyof typeof RESILIENCE_SPAN_EVENTS];

/**
 * Records what a policy did as an event on the active span (the request or delivery it happened in),
 * next to the metric it also counts. Only the OpenTelemetry API: without an SDK there is no active
 * span and this costs one lookup.
 */
export function spanEvent(
  name: ResilienceSpanEvent,
  dependency: string | undefined,
  attributes: Attributes = {},
): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.addEvent(
    name,
    dependency === undefined ? attributes : { [SPAN_ATTRIBUTES.dependency]: dependency, ...attributes },
  );
}

/** The span event of a call's final outcome, when it is one the policies caused. */
const OUTCOME_EVENTS: Partial<Record<CallOutcome, ResilienceSpanEvent>> = {
  timeout: RESILIENCE_SPAN_EVENTS.timeout,
  rejected_open: RESILIENCE_SPAN_EVENTS.circuitRejected,
  rejected_bulkhead: RESILIENCE_SPAN_EVENTS.limitRejected,
  rejected_limit: RESILIENCE_SPAN_EVENTS.limitRejected,
  fallback: RESILIENCE_SPAN_EVENTS.fallback,
};

export function outcomeSpanEvent(dependency: string, outcome: CallOutcome, seconds: number): void {
  const name = OUTCOME_EVENTS[outcome];
  if (name !== undefined)
    spanEvent(name, dependency, { 'shop.outcome': outcome, 'shop.duration_s': seconds });
}
