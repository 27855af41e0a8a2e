import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitPermit,
} from '../src/breaker/circuit-breaker.ts';
import { createManualClock } from '../src/clock/clock.ts';
import { CircuitOpenError } from '../src/errors/errors.ts';
import type { FailureDetectorOptions } from '../src/breaker/outcome-window.ts';
import { captureLogger, newRegistry } from './helpers.ts';

type Op =
  | { readonly type: 'call'; readonly fail: boolean; readonly durationMs: number }
  | { readonly type: 'start' }
  | { readonly type: 'finish'; readonly index: number; readonly fail: boolean }
  | { readonly type: 'release'; readonly index: number }
  | { readonly type: 'advance'; readonly ms: number }
  | { readonly type: 'isolate' }
  | { readonly type: 'reset' };

const detector: fc.Arbitrary<FailureDetectorOptions> = fc.oneof(
  fc.record({ kind: fc.constant('consecutive' as const), failures: fc.integer({ min: 1, max: 6 }) }),
  fc.integer({ min: 1, max: 100 }).chain((size) =>
    fc.record({
      kind: fc.constant('count' as const),
      size: fc.constant(size),
      failureRatePercent: fc.integer({ min: 1, max: 100 }),
      minimumCalls: fc.integer({ min: 1, max: size }),
    }),
  ),
  fc.record({
    kind: fc.constant('time' as const),
    windowMs: fc.integer({ min: 100, max: 5000 }),
    failureRatePercent: fc.integer({ min: 1, max: 100 }),
    minimumCalls: fc.integer({ min: 1, max: 10 }),
  }),
);

const options: fc.Arbitrary<CircuitBreakerOptions> = fc
  .record({
    failureDetector: detector,
    coolDownMs: fc.integer({ min: 1, max: 2000 }),
    probes: fc.integer({ min: 1, max: 5 }),
    slowCall: fc.option(
      fc.record({
        thresholdMs: fc.integer({ min: 10, max: 500 }),
        ratePercent: fc.integer({ min: 1, max: 100 }),
      }),
      { nil: undefined },
    ),
  })
  .chain((o) =>
    fc.integer({ min: 1, max: o.probes }).map((successesToClose) => ({
      failureDetector: o.failureDetector,
      coolDownMs: o.coolDownMs,
      halfOpen: { probes: o.probes, successesToClose },
      ...(o.slowCall === undefined ? {} : { slowCall: o.slowCall }),
    })),
  );

const outcomeOps: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('call' as const),
      fail: fc.boolean(),
      durationMs: fc.nat(1000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('start' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('finish' as const), index: fc.nat(), fail: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('release' as const), index: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.nat(3000) }) },
);
const manualOps: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: outcomeOps },
  { weight: 1, arbitrary: fc.constant({ type: 'isolate' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'reset' as const }) },
);

function harness(opts: CircuitBreakerOptions) {
  const clock = createManualClock();
  const registry = newRegistry();
  const breaker = new CircuitBreaker('dep', opts, { registry, logger: captureLogger().logger, clock });
  const pending: CircuitPermit[] = [];
  let openedAt: number | undefined;
  let dependencyCallsWhileOpen = 0;
  const transitions: Array<{ from: string; to: string }> = [];
  breaker.onStateChange((change) => {
    transitions.push(change);
    openedAt = change.to === 'open' ? clock.now() : undefined;
  });
  const callDependency = (): boolean => {
    let permit: CircuitPermit;
    try {
      permit = breaker.acquire();
    } catch (error) {
      if (!(error instanceof CircuitOpenError)) throw error;
      return false;
    }
    if (openedAt !== undefined && clock.now() < openedAt + opts.coolDownMs!) dependencyCallsWhileOpen++;
    pending.push(permit);
    return true;
  };
  const apply = (op: Op): void => {
    switch (op.type) {
      case 'call':
        if (callDependency()) {
          const permit = pending.pop()!;
          if (op.fail) breaker.onError(permit, new Error('fail'), op.durationMs);
          else breaker.onSuccess(permit, op.durationMs);
        }
        break;
      case 'start':
        callDependency();
        break;
      case 'finish':
      case 'release': {
        if (pending.length === 0) break;
        const [permit] = pending.splice(op.index % pending.length, 1);
        if (op.type === 'release') breaker.release(permit!);
        else if (op.fail) breaker.onError(permit!, new Error('fail'), 1);
        else breaker.onSuccess(permit!, 1);
        break;
      }
      case 'advance':
        clock.advance(op.ms);
        break;
      case 'isolate':
        breaker.isolate();
        break;
      case 'reset':
        breaker.reset();
        break;
    }
  };
  return {
    breaker,
    registry,
    apply,
    transitions,
    get dependencyCallsWhileOpen() {
      return dependencyCallsWhileOpen;
    },
  };
}

describe('circuit breaker invariants', () => {
  it('never calls the dependency while open before the cool-down has passed', () => {
    fc.assert(
      fc.property(options, fc.array(outcomeOps, { maxLength: 300, size: 'max' }), (opts, ops) => {
        const h = harness(opts);
        for (const op of ops) h.apply(op);
        expect(h.dependencyCallsWhileOpen).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('never opens while no call fails or is slow', () => {
    const noFailures = outcomeOps.map((op): Op =>
      op.type === 'call'
        ? { ...op, fail: false, durationMs: op.durationMs % 10 }
        : op.type === 'finish'
          ? { ...op, fail: false }
          : op,
    );
    fc.assert(
      fc.property(options, fc.array(noFailures, { maxLength: 300, size: 'max' }), (opts, ops) => {
        const h = harness(opts);
        for (const op of ops) h.apply(op);
        expect(h.breaker.state).toBe('closed');
        expect(h.transitions).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves the breaker in a valid state after any sequence of outcomes and manual actions', async () => {
    await fc.assert(
      fc.asyncProperty(options, fc.array(manualOps, { maxLength: 300, size: 'max' }), async (opts, ops) => {
        const h = harness(opts);
        for (const op of ops) h.apply(op);
        const state = h.breaker.state;
        expect(['closed', 'open', 'half-open', 'isolated']).toContain(state);
        expect(h.breaker.remainingCoolDownMs).toBeLessThanOrEqual(opts.coolDownMs!);
        // Transitions form a chain: each starts where the previous one ended, and none is a self-loop.
        let current = 'closed';
        for (const t of h.transitions) {
          expect(t.from).toBe(current);
          expect(t.to).not.toBe(t.from);
          current = t.to;
        }
        expect(current).toBe(state);
        const gauge = await h.registry.getSingleMetric('resilience_circuit_state')!.get();
        const ones = gauge.values.filter((v) => v.value === 1).map((v) => v.labels.state);
        expect(ones).toEqual([state.replace('-', '_')]);
      }),
      { numRuns: 200 },
    );
  });
});
