import { describe, expect, it } from '@jest/globals';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitStateChange,
} from '../src/breaker/circuit-breaker.ts';
import { createManualClock, type ManualClock } from '../src/clock/clock.ts';
import { CircuitOpenError, DependencyHttpError } from '../src/errors/errors.ts';
import { captureLogger, metricValue, newRegistry } from './helpers.ts';

function setup(options: CircuitBreakerOptions = {}, clock: ManualClock = createManualClock()) {
  const registry = newRegistry();
  const { logger, events } = captureLogger();
  const breaker = new CircuitBreaker('inventory', options, { registry, logger, clock });
  const fail = (durationMs = 1): void => breaker.onError(breaker.acquire(), new Error('boom'), durationMs);
  const succeed = (durationMs = 1): void => breaker.onSuccess(breaker.acquire(), durationMs);
  return { breaker, registry, events, clock, fail, succeed };
}

const consecutive5: CircuitBreakerOptions = {
  failureDetector: { kind: 'consecutive', failures: 5 },
  coolDownMs: 1000,
};

describe('circuit breaker', () => {
  it('opens the circuit after 5 consecutive failures', () => {
    const { breaker, fail } = setup(consecutive5);
    for (let i = 0; i < 4; i++) fail();
    expect(breaker.state).toBe('closed');
    fail();
    expect(breaker.state).toBe('open');
  });

  it('starts the consecutive count again after a success', () => {
    const { breaker, fail, succeed } = setup(consecutive5);
    for (let i = 0; i < 4; i++) fail();
    succeed();
    for (let i = 0; i < 4; i++) fail();
    expect(breaker.state).toBe('closed');
  });

  it('rejects calls at once while open, with the remaining cool-down as retryAfterMs', () => {
    const { breaker, fail, clock } = setup(consecutive5);
    for (let i = 0; i < 5; i++) fail();
    clock.advance(400);
    let error: unknown;
    try {
      breaker.acquire();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfterMs).toBe(600);
    expect((error as CircuitOpenError).dependency).toBe('inventory');
    expect((error as CircuitOpenError).code).toBe('CIRCUIT_OPEN');
  });

  it('does not open a count window on one failure below the minimum number of calls', () => {
    const { breaker, fail, succeed } = setup({
      failureDetector: { kind: 'count', size: 10, failureRatePercent: 50, minimumCalls: 4 },
    });
    fail();
    // 100% failures, but one call is below the minimum of 4.
    expect(breaker.state).toBe('closed');
    succeed();
    succeed();
    succeed();
    fail();
    expect(breaker.state).toBe('closed');
    fail();
    expect(breaker.state).toBe('open');
  });

  it('opens a count window when the failure rate of the last calls reaches the threshold', () => {
    const { breaker, fail, succeed } = setup({
      failureDetector: { kind: 'count', size: 4, failureRatePercent: 50, minimumCalls: 4 },
    });
    // Older successes slide out of the 4-call window.
    for (let i = 0; i < 10; i++) succeed();
    fail();
    succeed();
    fail();
    expect(breaker.state).toBe('open');
  });

  it('opens a time window only on failures within the window', () => {
    const { breaker, fail, succeed, clock } = setup({
      failureDetector: { kind: 'time', windowMs: 10_000, failureRatePercent: 50, minimumCalls: 4 },
    });
    fail();
    fail();
    fail();
    // The three failures expire before the calls that would make up the minimum.
    clock.advance(11_000);
    succeed();
    succeed();
    fail();
    expect(breaker.state).toBe('closed');
    fail();
    expect(breaker.state).toBe('open');
  });

  it('opens when the call that completes the minimum is a success but the failure rate is reached', () => {
    const { breaker, fail, succeed } = setup({
      failureDetector: { kind: 'time', windowMs: 10_000, failureRatePercent: 50, minimumCalls: 4 },
    });
    fail();
    fail();
    fail();
    expect(breaker.state).toBe('closed');
    succeed();
    expect(breaker.state).toBe('open');
  });

  it('counts a time window with a minimum number of calls so one failure at low volume does not trip it', () => {
    const { breaker, fail, clock } = setup({
      failureDetector: { kind: 'time', windowMs: 1000, failureRatePercent: 50, minimumCalls: 5 },
    });
    for (let i = 0; i < 20; i++) {
      fail();
      clock.advance(1000);
    }
    expect(breaker.state).toBe('closed');
  });

  it('opens when the rate of slow calls reaches its threshold even though every call succeeded', () => {
    const { breaker, succeed } = setup({
      failureDetector: { kind: 'count', size: 10, failureRatePercent: 50, minimumCalls: 4 },
      slowCall: { thresholdMs: 500, ratePercent: 75 },
    });
    succeed(10);
    succeed(600);
    succeed(700);
    expect(breaker.state).toBe('closed');
    succeed(800);
    expect(breaker.state).toBe('open');
  });

  it('enters half-open when the cool-down ends without any call', () => {
    const { breaker, fail, clock, registry } = setup(consecutive5);
    const changes: CircuitStateChange[] = [];
    breaker.onStateChange((change) => changes.push(change));
    for (let i = 0; i < 5; i++) fail();
    clock.advance(999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(changes.map((c) => c.to)).toEqual(['open', 'half-open']);
    return expect(
      metricValue(registry, 'resilience_circuit_state', { dependency: 'inventory', state: 'half_open' }),
    ).resolves.toBe(1);
  });

  it('admits only the configured number of probes in half-open and closes after enough succeed', () => {
    const { breaker, fail, clock } = setup({ ...consecutive5, halfOpen: { probes: 3, successesToClose: 2 } });
    for (let i = 0; i < 5; i++) fail();
    clock.advance(1000);
    const probes = [breaker.acquire(), breaker.acquire(), breaker.acquire()];
    expect(() => breaker.acquire()).toThrow(CircuitOpenError);
    breaker.onSuccess(probes[0]!, 1);
    expect(breaker.state).toBe('half-open');
    expect(() => breaker.acquire()).toThrow(CircuitOpenError);
    breaker.onSuccess(probes[1]!, 1);
    expect(breaker.state).toBe('closed');
    // The third probe's late result belongs to the half-open state and changes nothing.
    breaker.onError(probes[2]!, new Error('late'), 1);
    expect(breaker.state).toBe('closed');
  });

  it('opens again when too many probes fail', () => {
    const { breaker, fail, clock } = setup({ ...consecutive5, halfOpen: { probes: 3, successesToClose: 2 } });
    for (let i = 0; i < 5; i++) fail();
    clock.advance(1000);
    const [a, b] = [breaker.acquire(), breaker.acquire()];
    breaker.onError(a, new Error('still down'), 1);
    expect(breaker.state).toBe('half-open');
    breaker.onError(b, new Error('still down'), 1);
    expect(breaker.state).toBe('open');
    clock.advance(999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it('frees a probe slot when a probe is released without an outcome', () => {
    const { breaker, fail, clock } = setup({ ...consecutive5, halfOpen: { probes: 1, successesToClose: 1 } });
    for (let i = 0; i < 5; i++) fail();
    clock.advance(1000);
    const probe = breaker.acquire();
    expect(() => breaker.acquire()).toThrow(CircuitOpenError);
    breaker.release(probe);
    breaker.onSuccess(breaker.acquire(), 1);
    expect(breaker.state).toBe('closed');
  });

  it('opens when a failure rate is reached exactly: 7 failures in 100 calls at 7 %', () => {
    for (const kind of ['count', 'time'] as const) {
      const { breaker, fail, succeed } = setup({
        failureDetector:
          kind === 'count'
            ? { kind, size: 100, failureRatePercent: 7, minimumCalls: 100 }
            : { kind, windowMs: 60_000, failureRatePercent: 7, minimumCalls: 100 },
      });
      for (let i = 0; i < 93; i++) succeed();
      for (let i = 0; i < 6; i++) fail();
      expect(breaker.state).toBe('closed');
      fail();
      expect({ kind, state: breaker.state }).toEqual({ kind, state: 'open' });
    }
  });

  it('stays closed one failure below an exact rate: 6 failures in 100 calls at 7 %', () => {
    const { breaker, fail, succeed } = setup({
      failureDetector: { kind: 'count', size: 100, failureRatePercent: 7, minimumCalls: 100 },
    });
    for (let i = 0; i < 94; i++) succeed();
    for (let i = 0; i < 6; i++) fail();
    expect(breaker.state).toBe('closed');
  });

  it('counts a half-open probe that hangs past the probe timeout as failed and opens again', () => {
    const { breaker, fail, clock, events } = setup({
      ...consecutive5,
      halfOpen: { probes: 1, successesToClose: 1, probeTimeoutMs: 300 },
    });
    for (let i = 0; i < 5; i++) fail();
    clock.advance(1000);
    expect(breaker.state).toBe('half-open');
    const hanging = breaker.acquire();
    expect(() => breaker.acquire()).toThrow(CircuitOpenError);
    clock.advance(299);
    expect(breaker.state).toBe('half-open');
    clock.advance(1);
    expect(breaker.state).toBe('open');
    expect(events.some((e) => e.msg === 'half-open probe timed out')).toBe(true);
    // The late outcome of the timed-out probe changes nothing; the next cool-down admits a new probe.
    breaker.onSuccess(hanging, 1);
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    breaker.onSuccess(breaker.acquire(), 1);
    expect(breaker.state).toBe('closed');
  });

  it('counts a 4xx answer as a success, not a failure', () => {
    const { breaker } = setup(consecutive5);
    const notFound = new DependencyHttpError('inventory', {
      method: 'GET',
      url: '/products/x',
      status: 404,
      retryable: false,
      countsAsFailure: false,
    });
    for (let i = 0; i < 20; i++) breaker.onError(breaker.acquire(), notFound, 1);
    expect(breaker.state).toBe('closed');
  });

  it('holds the circuit open while isolated and closes it on reset', async () => {
    const { breaker, registry, clock } = setup(consecutive5);
    breaker.isolate();
    expect(breaker.state).toBe('isolated');
    clock.advance(60_000);
    expect(() => breaker.acquire()).toThrow(CircuitOpenError);
    await expect(breaker.healthCheck().check(new AbortController().signal)).resolves.toEqual({
      ok: false,
      message: 'circuit isolated',
    });
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(
      await metricValue(registry, 'resilience_circuit_transitions_total', {
        dependency: 'inventory',
        from: 'isolated',
        to: 'closed',
      }),
    ).toBe(1);
  });

  it('reports the state as a gauge with 1 for the current state and 0 for the others', async () => {
    const { fail, registry } = setup(consecutive5);
    for (let i = 0; i < 5; i++) fail();
    const value = (state: string) =>
      metricValue(registry, 'resilience_circuit_state', { dependency: 'inventory', state });
    expect(await value('open')).toBe(1);
    expect(await value('closed')).toBe(0);
    expect(await value('half_open')).toBe(0);
    expect(await value('isolated')).toBe(0);
  });

  it('logs each state change as an event with dependency, from and to', () => {
    const { fail, events, clock } = setup(consecutive5);
    for (let i = 0; i < 5; i++) fail();
    clock.advance(1000);
    const changes = events.filter((e) => e.msg === 'circuit state changed');
    expect(changes).toEqual([
      expect.objectContaining({ level: 40, dependency: 'inventory', from: 'closed', to: 'open' }),
      expect.objectContaining({ level: 30, dependency: 'inventory', from: 'open', to: 'half-open' }),
    ]);
  });

  it('exposes a non-critical health check named after the dependency that fails while open', async () => {
    const { breaker, fail, clock } = setup(consecutive5);
    const check = breaker.healthCheck();
    expect(check.name).toBe('circuit:inventory');
    expect(check.critical).toBe(false);
    const signal = new AbortController().signal;
    await expect(check.check(signal)).resolves.toEqual({ ok: true, message: 'circuit closed' });
    for (let i = 0; i < 5; i++) fail();
    await expect(check.check(signal)).resolves.toMatchObject({ ok: false });
    clock.advance(1000);
    await expect(check.check(signal)).resolves.toEqual({ ok: true, message: 'circuit half-open' });
  });

  it('stops notifying a listener once its subscription is disposed', () => {
    const { breaker, fail } = setup(consecutive5);
    const seen: string[] = [];
    const subscription = breaker.onStateChange((c) => seen.push(c.to));
    subscription.dispose();
    for (let i = 0; i < 5; i++) fail();
    expect(seen).toEqual([]);
  });

  it('clears its cool-down timer and listeners on dispose', () => {
    const { breaker, fail, clock } = setup(consecutive5);
    const seen: string[] = [];
    breaker.onStateChange((c) => seen.push(c.to));
    for (let i = 0; i < 5; i++) fail();
    expect(clock.pendingTimers).toBe(1);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5000);
    expect(seen).toEqual(['open']);
  });

  it('rejects invalid options with a RangeError', () => {
    expect(() => setup({ halfOpen: { probes: 2, successesToClose: 3 } })).toThrow(RangeError);
    expect(() => setup({ failureDetector: { kind: 'count', size: 5, failureRatePercent: 0 } })).toThrow(
      RangeError,
    );
    expect(() =>
      setup({ failureDetector: { kind: 'count', size: 5, failureRatePercent: 50, minimumCalls: 6 } }),
    ).toThrow(RangeError);
    expect(() => setup({ failureDetector: { kind: 'consecutive', failures: 0 } })).toThrow(RangeError);
  });
});
