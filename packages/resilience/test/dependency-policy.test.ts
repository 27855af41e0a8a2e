import { getEventListeners } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { createManualClock, systemClock, type ManualClock } from '../src/clock/clock.ts';
import {
  createDependencyPolicy,
  type DependencyPolicyDeps,
  type DependencyPolicyOptions,
} from '../src/policy/dependency-policy.ts';
import {
  BulkheadFullError,
  CircuitOpenError,
  DependencyHttpError,
  PolicyDisposedError,
  RetriesExhaustedError,
  TimeoutError,
} from '../src/errors/errors.ts';
import { resilienceMetrics } from '../src/metrics/metrics.ts';
import { captureLogger, deferred, flush, histogramCount, metricValue, newRegistry } from './helpers.ts';

class Retryable extends Error {
  readonly retryable = true;
}

function setup(options: DependencyPolicyOptions = {}, clock: ManualClock = createManualClock()) {
  const registry = newRegistry();
  const { logger, events } = captureLogger();
  const deps: DependencyPolicyDeps = { registry, logger, clock, random: () => 0.5 };
  const policy = createDependencyPolicy('inventory', options, deps);
  const outcome = (name: string) =>
    metricValue(registry, 'resilience_calls_total', { dependency: 'inventory', outcome: name });
  return { policy, registry, events, clock, outcome };
}

/** Advances the manual clock in small steps until the promise settles. */
async function drive<T>(clock: ManualClock, promise: Promise<T>, stepMs = 10): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 10_000 && !settled; i++) {
    await flush();
    clock.advance(stepMs);
  }
  return promise;
}

const hang = (): Promise<never> => new Promise(() => undefined);

describe('dependency policy', () => {
  it('returns the value and records a success with its duration', async () => {
    const { policy, registry, outcome } = setup();
    await expect(policy.execute(async (ctx) => `attempt ${ctx.attempt}`)).resolves.toBe('attempt 1');
    expect(await outcome('success')).toBe(1);
    expect(
      await histogramCount(registry, 'resilience_call_duration_seconds', { dependency: 'inventory' }),
    ).toBe(1);
  });

  it('creates every outcome series at zero before the first call', async () => {
    const { outcome, registry } = setup();
    const text = await registry.getSingleMetricAsString('resilience_calls_total');
    for (const name of ['success', 'failure', 'timeout', 'rejected_open', 'rejected_bulkhead', 'fallback']) {
      expect(text).toContain(`outcome="${name}"`);
      expect(await outcome(name)).toBe(0);
    }
  });

  it('retries a timed-out attempt and succeeds on the next one', async () => {
    const { policy, clock, registry, outcome } = setup({ timeoutMs: 100 });
    const result = policy.execute((ctx) => (ctx.attempt === 1 ? hang() : Promise.resolve('second')));
    await expect(drive(clock, result)).resolves.toBe('second');
    expect(await outcome('success')).toBe(1);
    expect(await metricValue(registry, 'resilience_retries_total', { dependency: 'inventory' })).toBe(1);
  });

  it('fails with TimeoutError of scope deadline when the overall deadline passes across attempts', async () => {
    const { policy, clock, outcome } = setup({
      timeoutMs: 1000,
      deadlineMs: 1500,
      retry: { maxAttempts: 5, initialDelayMs: 10 },
    });
    const started = clock.now();
    let attempts = 0;
    const error = await drive(
      clock,
      policy.execute(() => {
        attempts++;
        return hang();
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ scope: 'deadline', timeoutMs: 1500, retryable: false });
    expect(attempts).toBe(2);
    expect(clock.now() - started).toBeGreaterThanOrEqual(1500);
    expect(clock.now() - started).toBeLessThan(1520);
    expect(await outcome('timeout')).toBe(1);
  });

  it('counts a call that exhausted its retries on timeouts as outcome timeout', async () => {
    const { policy, clock, outcome } = setup({
      timeoutMs: 100,
      retry: { maxAttempts: 2, initialDelayMs: 1 },
    });
    const error = await drive(clock, policy.execute(hang)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).cause).toBeInstanceOf(TimeoutError);
    expect(await outcome('timeout')).toBe(1);
  });

  it('tells the breaker once per call: failed attempts that a retry covered are not failures', async () => {
    const { policy, clock } = setup({
      retry: { maxAttempts: 3, initialDelayMs: 1 },
      retryBudget: false,
      circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 2 } },
    });
    // Five calls, each failing twice before its third attempt succeeds: ten failed attempts in a row of
    // pairs, and the circuit (2 consecutive failures) stays closed because every call succeeded.
    for (let i = 0; i < 5; i++) {
      const call = policy.execute(async (ctx) => {
        if (ctx.attempt < 3) throw new Retryable('one replica down');
        return 'ok';
      });
      await expect(drive(clock, call)).resolves.toBe('ok');
    }
    expect(policy.circuitState).toBe('closed');
    // Two calls that fail after all their attempts are two failures: the circuit opens.
    for (let i = 0; i < 2; i++) {
      await drive(
        clock,
        policy.execute(() => Promise.reject(new Retryable('down'))),
      ).catch(() => undefined);
    }
    expect(policy.circuitState).toBe('open');
  });

  it('stops retrying when the circuit opens through other calls, with an error that says an attempt was sent', async () => {
    const { policy, clock, outcome } = setup({
      retry: { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 1000 },
      retryBudget: false,
      circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 1 } },
    });
    let calls = 0;
    const waiting = policy
      .execute(async () => {
        calls++;
        throw new Retryable('timed out after the dependency may have acted');
      })
      .catch((e: unknown) => e);
    await flush();
    expect(calls).toBe(1);
    // Another call fails while the first waits for its backoff: the circuit opens.
    await policy.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(policy.circuitState).toBe('open');
    const error = await drive(clock, waiting);
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).not.toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ reason: 'circuit-open', attempts: 1 });
    expect(await outcome('failure')).toBe(2);
    expect(await outcome('rejected_open')).toBe(0);
  });

  it('rejects at once while the circuit is open, without calling the dependency', async () => {
    const { policy, outcome } = setup({ circuitBreaker: { coolDownMs: 5000 } });
    policy.isolate();
    let called = false;
    const error = await policy
      .execute(async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
    expect(await outcome('rejected_open')).toBe(1);
    policy.reset();
    await expect(policy.execute(async () => 'back')).resolves.toBe('back');
  });

  it('lets only the configured probes through after the cool-down, then closes when enough succeed', async () => {
    const { policy, clock } = setup({
      retry: false,
      bulkhead: false,
      circuitBreaker: {
        failureDetector: { kind: 'consecutive', failures: 2 },
        coolDownMs: 1000,
        halfOpen: { probes: 2, successesToClose: 2 },
      },
    });
    for (let i = 0; i < 2; i++)
      await policy.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(policy.circuitState).toBe('open');
    clock.advance(1000);
    // Reported half-open without any call having to trigger it.
    expect(policy.circuitState).toBe('half-open');
    const gate = deferred<string>();
    let reached = 0;
    const calls = Array.from({ length: 10 }, () =>
      policy
        .execute(() => {
          reached++;
          return gate.promise;
        })
        .catch((e: unknown) => e),
    );
    await flush();
    expect(reached).toBe(2);
    gate.resolve('ok');
    const results = await Promise.all(calls);
    expect(results.filter((r) => r === 'ok')).toHaveLength(2);
    expect(results.filter((r) => r instanceof CircuitOpenError)).toHaveLength(8);
    expect(policy.circuitState).toBe('closed');
  });

  it('gives each attempt its own signal, so one timeout does not abort other calls (opossum #780)', async () => {
    const { policy, clock } = setup({ timeoutMs: 100, retry: false });
    const signals: AbortSignal[] = [];
    const slow = policy.execute((ctx) => {
      signals.push(ctx.signal);
      return hang();
    });
    clock.advance(50);
    const fastGate = deferred<string>();
    const fast = policy.execute((ctx) => {
      signals.push(ctx.signal);
      return fastGate.promise;
    });
    clock.advance(50);
    await expect(slow).rejects.toBeInstanceOf(TimeoutError);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]!.aborted).toBe(false);
    fastGate.resolve('fine');
    await expect(fast).resolves.toBe('fine');
  });

  it('gives each retry a fresh signal that is not already aborted', async () => {
    const { policy, clock } = setup({ timeoutMs: 100 });
    const states: boolean[] = [];
    const result = policy.execute((ctx) => {
      states.push(ctx.signal.aborted);
      return ctx.attempt < 3 ? hang() : Promise.resolve('third');
    });
    await expect(drive(clock, result)).resolves.toBe('third');
    expect(states).toEqual([false, false, false]);
  });

  it('does not accumulate listeners on a long-lived caller signal over thousands of calls (cockatiel #69, #81)', async () => {
    const { policy, clock } = setup({ timeoutMs: 1000 });
    const caller = new AbortController();
    for (let i = 0; i < 3000; i++) {
      await policy.execute(async (ctx) => ctx.signal.aborted, { signal: caller.signal });
    }
    // Also through retries, a queued call and a failing call.
    const retried = policy.execute(
      (ctx) => (ctx.attempt === 1 ? Promise.reject(new Retryable()) : Promise.resolve(1)),
      {
        signal: caller.signal,
      },
    );
    await drive(clock, retried);
    await policy
      .execute(() => Promise.reject(new Error('x')), { signal: caller.signal })
      .catch(() => undefined);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the abort reason when the caller aborts, without counting an outcome or a breaker failure', async () => {
    const { policy, outcome } = setup({
      circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 1 } },
    });
    const caller = new AbortController();
    const result = policy.execute(hang, { signal: caller.signal });
    const reason = new Error('client closed');
    caller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(policy.circuitState).toBe('closed');
    for (const name of ['success', 'failure', 'timeout']) expect(await outcome(name)).toBe(0);
  });

  it('rejects with BulkheadFullError when the bulkhead and its queue are full', async () => {
    const { policy, outcome } = setup({ bulkhead: { maxConcurrent: 1, maxQueue: 0 } });
    const gate = deferred<void>();
    const first = policy.execute(() => gate.promise);
    await expect(policy.execute(async () => undefined)).rejects.toBeInstanceOf(BulkheadFullError);
    expect(await outcome('rejected_bulkhead')).toBe(1);
    gate.resolve();
    await first;
  });

  it('serves the per-call fallback on a failure and counts outcome fallback', async () => {
    const { policy, outcome } = setup({ retry: false });
    const value = await policy.execute(() => Promise.reject(new Error('down')), { fallback: () => 'cached' });
    expect(value).toBe('cached');
    expect(await outcome('fallback')).toBe(1);
    expect(await outcome('failure')).toBe(0);
  });

  it('hands a 4xx answer to the caller: no fallback, no retry, counted as the dependency answering', async () => {
    const { policy, outcome } = setup({
      circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 1 } },
    });
    const conflict = new DependencyHttpError('inventory', {
      method: 'POST',
      url: '/reservations',
      status: 409,
      retryable: false,
      countsAsFailure: false,
      body: { title: 'Insufficient stock' },
    });
    let calls = 0;
    const error = await policy
      .execute(
        async () => {
          calls++;
          throw conflict;
        },
        { fallback: () => 'fallback' },
      )
      .catch((e: unknown) => e);
    expect(error).toBe(conflict);
    expect(calls).toBe(1);
    expect(policy.circuitState).toBe('closed');
    expect(await outcome('success')).toBe(1);
  });

  it('caps retries of a failing dependency with the retry budget: no retry storm', async () => {
    const { policy, clock, registry } = setup({
      retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1 },
      retryBudget: { budgetPercent: 20, minRetriesPerSecond: 1, windowMs: 10_000 },
      circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 1_000_000 } },
      bulkhead: false,
    });
    let attempts = 0;
    const calls = Array.from({ length: 200 }, () =>
      policy
        .execute(async () => {
          attempts++;
          throw new Retryable('overloaded');
        })
        .catch((e: unknown) => e),
    );
    await drive(clock, Promise.all(calls), 1);
    // Without the budget: 200 x 5 = 1000 attempts. With it: 200 + 10 (floor) + 20% of 200.
    expect(attempts).toBeLessThanOrEqual(250);
    expect(attempts).toBeGreaterThan(200);
    expect(await metricValue(registry, 'resilience_retries_total', { dependency: 'inventory' })).toBe(
      attempts - 200,
    );
  });

  it('shares one retry budget between policies of the same dependency when given one', async () => {
    const { createRetryBudget } = await import('../src/retry/retry-budget.ts');
    const clock = createManualClock();
    const budget = createRetryBudget('inventory', { budgetPercent: 0, minRetriesPerSecond: 0.1 }, { clock });
    const registry = newRegistry();
    const { logger } = captureLogger();
    const a = createDependencyPolicy(
      'inventory',
      { retryBudget: budget, retry: { initialDelayMs: 1 } },
      { registry, logger, clock },
    );
    const b = createDependencyPolicy(
      'inventory',
      { retryBudget: budget, retry: { initialDelayMs: 1 } },
      { registry, logger, clock },
    );
    expect(a.retryBudget).toBe(budget);
    let attempts = 0;
    const failing = async (): Promise<never> => {
      attempts++;
      throw new Retryable();
    };
    await drive(clock, a.execute(failing)).catch(() => undefined);
    await drive(clock, b.execute(failing)).catch(() => undefined);
    // One retry allowed in the window in all: 2 first attempts + 1 retry.
    expect(attempts).toBe(3);
  });

  it('registers its metrics once per registry so that several policies share them', async () => {
    const registry = newRegistry();
    const { logger } = captureLogger();
    const a = createDependencyPolicy('inventory', {}, { registry, logger });
    const b = createDependencyPolicy('notification', {}, { registry, logger });
    await a.execute(async () => 1);
    await b.execute(async () => 1);
    expect(resilienceMetrics(registry).calls).toBe(registry.getSingleMetric('resilience_calls_total'));
    expect(
      await metricValue(registry, 'resilience_calls_total', {
        dependency: 'notification',
        outcome: 'success',
      }),
    ).toBe(1);
    a.dispose();
    b.dispose();
  });

  it('exposes the breaker as a health check and notifies state listeners', async () => {
    const { policy } = setup({ circuitBreaker: { critical: true } });
    const seen: string[] = [];
    const subscription = policy.onCircuitStateChange((change) => seen.push(`${change.from}->${change.to}`));
    const check = policy.healthCheck();
    expect(check).toMatchObject({ name: 'circuit:inventory', critical: true });
    policy.isolate();
    await expect(check.check(new AbortController().signal)).resolves.toMatchObject({ ok: false });
    subscription.dispose();
    policy.reset();
    expect(seen).toEqual(['closed->isolated']);
  });

  it('logs retries as debug events with the attempt and delay', async () => {
    const { policy, clock, events } = setup({ retry: { maxAttempts: 2, initialDelayMs: 5 } });
    await drive(
      clock,
      policy.execute((ctx) => (ctx.attempt === 1 ? Promise.reject(new Retryable()) : Promise.resolve(1))),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ level: 20, msg: 'retrying call', dependency: 'inventory', attempt: 2 }),
    );
  });

  it('rejects calls with PolicyDisposedError after dispose', async () => {
    const { policy } = setup();
    policy.dispose();
    await expect(policy.execute(async () => 1)).rejects.toBeInstanceOf(PolicyDisposedError);
  });

  it('can be garbage collected once disposed, even with its circuit open (opossum #248)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const registry = newRegistry();
    const { logger } = captureLogger();
    // Real timers; only the numeric ids are kept, which do not reference the breaker.
    const timerIds: number[] = [];
    const clock = {
      ...systemClock,
      setTimeout(callback: () => void, ms: number, options?: { unref?: boolean }) {
        const handle = systemClock.setTimeout(callback, ms, options);
        timerIds.push(Number(handle));
        return handle;
      },
    };
    const openPolicy = (dispose: boolean): WeakRef<object> => {
      const policy = createDependencyPolicy(
        'inventory',
        { circuitBreaker: { coolDownMs: 3_600_000, failureDetector: { kind: 'consecutive', failures: 1 } } },
        { registry, logger, clock },
      );
      // Opens with a real (unref'd) one-hour cool-down timer.
      policy.breaker.onError(policy.breaker.acquire(), new Error('down'), 1);
      expect(policy.circuitState).toBe('open');
      if (dispose) policy.dispose();
      return new WeakRef(policy.breaker);
    };
    const ref = openPolicy(true);
    // Control: without dispose the pending cool-down timer keeps the breaker alive.
    const kept = openPolicy(false);
    for (let i = 0; i < 20 && ref.deref() !== undefined; i++) {
      await flush();
      gc();
    }
    expect(kept.deref()).toBeDefined();
    for (const id of timerIds) clearTimeout(id);
    expect(ref.deref()).toBeUndefined();
  });
});
