import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RESILIENCE_SPAN_EVENTS } from '@self-healing-shop/contracts';
import { outcomeSpanEvent, spanEvent } from './span-events.ts';

// Metric names and labels are a contract with the dashboards and alert rules (README "Metrics").

export const CIRCUIT_STATE_LABELS = ['closed', 'open', 'half_open', 'isolated'] as const;
export type CircuitStateLabel = (typeof CIRCUIT_STATE_LABELS)[number];

export const CALL_OUTCOMES = [
  'success',
  'failure',
  'timeout',
  'rejected_open',
  'rejected_bulkhead',
  'rejected_limit',
  'fallback',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/**
 * Makes something once per prom-client registry and hands the same one to every later caller: two
 * breakers on one registry share one gauge, while a test's fresh registry gets metrics of its own.
 */
export function perRegistry<T>(create: (registry: Registry) => T): (registry: Registry) => T {
  const made = new WeakMap<Registry, T>();
  return (registry) => {
    let value = made.get(registry);
    if (value === undefined) {
      value = create(registry);
      made.set(registry, value);
    }
    return value;
  };
}

export const CALL_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ResilienceMetrics {
  readonly circuitState: Gauge<'dependency' | 'state'>;
  readonly circuitTransitions: Counter<'dependency' | 'from' | 'to'>;
  readonly calls: Counter<'dependency' | 'outcome'>;
  readonly retries: Counter<'dependency'>;
  readonly callDuration: Histogram<'dependency'>;
}

interface RegistryState {
  readonly metrics: ResilienceMetrics;
  /** Whether our collect hooks flush the per-dependency tallies (false when another module copy registered them). */
  readonly batched: boolean;
  readonly flushes: Set<() => void>;
  readonly dependencies: Map<string, DependencyMetrics>;
}

const byRegistry = new WeakMap<Registry, RegistryState>();

function registryState(registry: Registry): RegistryState {
  let state = byRegistry.get(registry);
  if (state !== undefined) return state;
  const flushes = new Set<() => void>();
  // Call counts are tallied in plain numbers on the hot path and added to the counters when scraped.
  const collect = (): void => {
    for (const flush of flushes) flush();
  };
  const existing = registry.getSingleMetric('resilience_calls_total') as
    ResilienceMetrics['calls'] | undefined;
  const metrics: ResilienceMetrics = {
    circuitState: existingOr(
      registry,
      'resilience_circuit_state',
      () =>
        new Gauge({
          name: 'resilience_circuit_state',
          help: 'Circuit breaker state of a dependency: 1 for the current state, 0 for the others',
          labelNames: ['dependency', 'state'],
          registers: [registry],
        }),
    ),
    circuitTransitions: existingOr(
      registry,
      'resilience_circuit_transitions_total',
      () =>
        new Counter({
          name: 'resilience_circuit_transitions_total',
          help: 'Circuit breaker state transitions',
          labelNames: ['dependency', 'from', 'to'],
          registers: [registry],
        }),
    ),
    calls:
      existing ??
      new Counter({
        name: 'resilience_calls_total',
        help: 'Calls through a dependency policy by final outcome',
        labelNames: ['dependency', 'outcome'],
        registers: [registry],
        collect,
      }),
    retries: existingOr(
      registry,
      'resilience_retries_total',
      () =>
        new Counter({
          name: 'resilience_retries_total',
          help: 'Retried attempts to a dependency',
          labelNames: ['dependency'],
          registers: [registry],
          collect,
        }),
    ),
    callDuration: existingOr(
      registry,
      'resilience_call_duration_seconds',
      () =>
        new Histogram({
          name: 'resilience_call_duration_seconds',
          help: 'Duration of calls through a dependency policy, retries and queueing included',
          labelNames: ['dependency'],
          buckets: CALL_DURATION_BUCKETS,
          registers: [registry],
        }),
    ),
  };
  state = { metrics, batched: existing === undefined, flushes, dependencies: new Map() };
  byRegistry.set(registry, state);
  return state;
}

/** The resilience metrics of a registry, registered on first use; every policy on that registry shares them. */
export function resilienceMetrics(registry: Registry): ResilienceMetrics {
  return registryState(registry).metrics;
}

// A registry filled by another copy of this module (two module instances in one process) keeps its metrics.
function existingOr<M>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

/** The metrics of one dependency: what its breaker, retry policy and dependency policy record. */
export interface DependencyMetrics {
  setCircuitState(state: CircuitStateLabel): void;
  transition(from: CircuitStateLabel, to: CircuitStateLabel): void;
  call(outcome: CallOutcome, seconds: number): void;
  /** A retry is about to be sent: `attempt` is its number (2 for the first retry), after `delayMs`. */
  retry(attempt?: number, delayMs?: number): void;
}

/** Shared by every piece of one dependency on one registry. */
export function dependencyMetrics(registry: Registry, dependency: string): DependencyMetrics {
  const state = registryState(registry);
  let result = state.dependencies.get(dependency);
  if (result === undefined) {
    result = createDependencyMetrics(state, dependency);
    state.dependencies.set(dependency, result);
  }
  return result;
}

function createDependencyMetrics(state: RegistryState, dependency: string): DependencyMetrics {
  const { metrics } = state;
  const outcomeIndex = new Map<CallOutcome, number>(CALL_OUTCOMES.map((outcome, i) => [outcome, i]));
  const outcomeCounters = CALL_OUTCOMES.map((outcome) => metrics.calls.labels({ dependency, outcome }));
  const retries = metrics.retries.labels({ dependency });
  const duration = metrics.callDuration.labels({ dependency });
  // Series exist from the start (at 0) so that rate() and absent() work before the first call.
  for (const counter of outcomeCounters) counter.inc(0);
  retries.inc(0);
  metrics.callDuration.zero({ dependency });
  const pendingCalls = new Float64Array(CALL_OUTCOMES.length);
  let pendingRetries = 0;
  if (state.batched) {
    state.flushes.add(() => {
      for (let i = 0; i < pendingCalls.length; i++) {
        if (pendingCalls[i]! > 0) {
          outcomeCounters[i]!.inc(pendingCalls[i]!);
          pendingCalls[i] = 0;
        }
      }
      if (pendingRetries > 0) {
        retries.inc(pendingRetries);
        pendingRetries = 0;
      }
    });
  }
  return {
    setCircuitState(current) {
      for (const label of CIRCUIT_STATE_LABELS) {
        metrics.circuitState.set({ dependency, state: label }, label === current ? 1 : 0);
      }
    },
    transition(from, to) {
      metrics.circuitTransitions.inc({ dependency, from, to });
    },
    call(outcome, seconds) {
      const index = outcomeIndex.get(outcome)!;
      if (state.batched) pendingCalls[index]!++;
      else outcomeCounters[index]!.inc();
      duration.observe(seconds);
      if (outcome !== 'success') outcomeSpanEvent(dependency, outcome, seconds);
    },
    retry(attempt, delayMs) {
      if (state.batched) pendingRetries++;
      else retries.inc();
      spanEvent(RESILIENCE_SPAN_EVENTS.retry, dependency, {
        ...(attempt === undefined ? {} : { 'shop.attempt': attempt }),
        ...(delayMs === undefined ? {} : { 'shop.retry.delay_ms': delayMs }),
      });
    },
  };
}

/** What became of a hedge: answered first (`won`), aborted because another attempt answered (`lost`),
 * failed itself (`failed`), or not sent because the hedge budget was spent (`skipped`). */
export const HEDGE_OUTCOMES = ['won', 'lost', 'failed', 'skipped'] as const;
export type HedgeOutcome = (typeof HEDGE_OUTCOMES)[number];

const hedgeCounter = perRegistry((registry) =>
  existingOr(
    registry,
    'resilience_hedges_total',
    () =>
      new Counter<'dependency' | 'outcome'>({
        name: 'resilience_hedges_total',
        help: 'Hedged attempts to a dependency by what became of them',
        labelNames: ['dependency', 'outcome'],
        registers: [registry],
      }),
  ),
);

/** `resilience_hedges_total{dependency,outcome}`; every outcome series exists from the start at 0. */
export function hedgeMetrics(registry: Registry, dependency: string): (outcome: HedgeOutcome) => void {
  const counter = hedgeCounter(registry);
  const series = new Map(HEDGE_OUTCOMES.map((outcome) => [outcome, counter.labels({ dependency, outcome })]));
  for (const child of series.values()) child.inc(0);
  return (outcome) => {
    series.get(outcome)!.inc();
    spanEvent(RESILIENCE_SPAN_EVENTS.hedge, dependency, { 'shop.hedge.outcome': outcome });
  };
}

export interface ConcurrencySnapshot {
  readonly limit: number;
  readonly inflight: number;
  readonly queued: number;
}

const concurrencySources = new WeakMap<Registry, Map<string, () => ConcurrencySnapshot>>();

/**
 * `resilience_concurrency_limit`, `resilience_concurrency_inflight` and `resilience_concurrency_queued`
 * (gauges by dependency), read from `read` when scraped: nothing is paid on the hot path.
 */
export function registerConcurrencyMetrics(
  registry: Registry,
  dependency: string,
  read: () => ConcurrencySnapshot,
): void {
  let sources = concurrencySources.get(registry);
  if (sources === undefined) {
    const all = new Map<string, () => ConcurrencySnapshot>();
    sources = all;
    concurrencySources.set(registry, all);
    const gauge = (name: string, help: string, field: keyof ConcurrencySnapshot): void => {
      existingOr(
        registry,
        name,
        () =>
          new Gauge({
            name,
            help,
            labelNames: ['dependency'],
            registers: [registry],
            collect() {
              for (const [dep, readSnapshot] of all) this.set({ dependency: dep }, readSnapshot()[field]);
            },
          }),
      );
    };
    gauge(
      'resilience_concurrency_limit',
      'Current adaptive concurrency limit of calls to a dependency',
      'limit',
    );
    gauge(
      'resilience_concurrency_inflight',
      'Calls to a dependency running under its concurrency limit',
      'inflight',
    );
    gauge(
      'resilience_concurrency_queued',
      'Calls to a dependency waiting for its concurrency limit',
      'queued',
    );
  }
  sources.set(dependency, read);
}
