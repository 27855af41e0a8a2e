import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '../src/clock/clock.ts';
import { RetriesExhaustedError, ResilienceError, TimeoutError } from '../src/errors/errors.ts';
import { createRetryBudget } from '../src/retry/retry-budget.ts';
import { createRetryPolicy, decorrelatedJitter, type RetryOptions } from '../src/retry/retry.ts';
import { captureLogger, flush, metricValue, newRegistry } from './helpers.ts';

class Retryable extends Error {
  readonly retryable = true;
  readonly retryAfterMs?: number;
  constructor(retryAfterMs?: number) {
    super('try again');
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

function setup(options: RetryOptions = {}, random = () => 0.5) {
  const clock = createManualClock();
  const registry = newRegistry();
  const { logger, events } = captureLogger();
  const policy = createRetryPolicy('inventory', options, { registry, logger, clock, random });
  return { clock, registry, events, policy };
}

/** Advances the clock through every backoff wait until the promise settles. */
async function drive<T>(clock: ReturnType<typeof createManualClock>, promise: Promise<T>): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 1000 && !settled; i++) {
    await flush();
    clock.advance(10);
  }
  return promise;
}

describe('retry', () => {
  it('retries a retryable failure until it succeeds and counts each retry', async () => {
    const { clock, registry, policy } = setup({ maxAttempts: 3 });
    const attempts: number[] = [];
    const result = policy.execute(async (attempt) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Retryable();
      return 'ok';
    });
    await expect(drive(clock, result)).resolves.toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
    expect(await metricValue(registry, 'resilience_retries_total', { dependency: 'inventory' })).toBe(2);
  });

  it('never retries an error that is not marked retryable', async () => {
    const { policy } = setup({ maxAttempts: 5 });
    let calls = 0;
    const plain = new Error('bad request');
    await expect(
      policy.execute(async () => {
        calls++;
        throw plain;
      }),
    ).rejects.toBe(plain);
    expect(calls).toBe(1);
  });

  it('gives up with RetriesExhaustedError carrying the attempts and the last error', async () => {
    const { clock, policy } = setup({ maxAttempts: 3 });
    const last = new Retryable();
    let calls = 0;
    const error = await drive(
      clock,
      policy.execute(async () => {
        calls++;
        throw calls === 3 ? last : new Retryable();
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toMatchObject({
      attempts: 3,
      reason: 'max-attempts',
      cause: last,
      code: 'RETRIES_EXHAUSTED',
    });
  });

  it('waits exponentially growing, jittered delays drawn from the injected random source', async () => {
    const { clock, policy } = setup({ maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 10_000 }, () => 0.5);
    const startedAt: number[] = [];
    const result = policy.execute(async () => {
      startedAt.push(clock.now());
      throw new Retryable();
    });
    await drive(clock, result).catch(() => undefined);
    const gaps = startedAt.slice(1).map((t, i) => t - startedAt[i]!);
    const generator = decorrelatedJitter(() => 0.5);
    const options = { initialDelay: 100, maxDelay: 10_000, exponent: 2, generator };
    let state: [number, number] | undefined;
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [delay, next] = generator(state, options);
      expected.push(Math.round(delay));
      state = next;
    }
    // The driver advances in 10 ms steps, so each retry starts within 10 ms after its delay.
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]!);
      expect(gap).toBeLessThan(expected[i]! + 10);
    });
    expect(expected[2]!).toBeGreaterThan(expected[0]!);
  });

  it('keeps every jittered delay within [0, maxDelay] whatever the random source returns', () => {
    const options = {
      initialDelay: 100,
      maxDelay: 2000,
      exponent: 2,
      generator: decorrelatedJitter(() => 0),
    };
    for (const r of [0, 0.25, 0.999999]) {
      const generator = decorrelatedJitter(() => r);
      let state: [number, number] | undefined;
      for (let i = 0; i < 30; i++) {
        const [delay, next] = generator(state, { ...options, generator });
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(2000);
        state = next;
      }
    }
  });

  it('waits at least the Retry-After the dependency asked for', async () => {
    const { clock, policy } = setup({ maxAttempts: 2, initialDelayMs: 1 });
    const startedAt: number[] = [];
    const result = policy.execute(async () => {
      startedAt.push(clock.now());
      if (startedAt.length === 1) throw new Retryable(3000);
      return 'ok';
    });
    await expect(drive(clock, result)).resolves.toBe('ok');
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(3000);
    expect(startedAt[1]! - startedAt[0]!).toBeLessThan(3010);
  });

  it('gives up instead of waiting when Retry-After is longer than maxRetryAfterMs', async () => {
    const { policy } = setup({ maxAttempts: 3, maxRetryAfterMs: 1000 });
    const error = await policy.execute(() => Promise.reject(new Retryable(60_000))).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'retry-after-too-long', attempts: 1, retryAfterMs: 60_000 });
  });

  it('does not start a retry whose backoff would end after the deadline', async () => {
    const { clock, policy } = setup({ maxAttempts: 5, initialDelayMs: 1000 });
    const error = await policy
      .execute(() => Promise.reject(new Retryable()), { deadlineAt: clock.now() + 500 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'deadline', attempts: 1 });
  });

  it('stops waiting and rejects with the abort reason when the caller aborts during a backoff', async () => {
    const { clock, policy } = setup({ maxAttempts: 3, initialDelayMs: 1000 });
    const caller = new AbortController();
    let calls = 0;
    const result = policy.execute(
      async () => {
        calls++;
        throw new Retryable();
      },
      { signal: caller.signal },
    );
    await flush();
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error('cancelled');
    caller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(calls).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets a per-call predicate decide what is retried', async () => {
    const { clock, policy } = setup({ maxAttempts: 2 });
    let calls = 0;
    const timeout = new TimeoutError('inventory', 100);
    const error = await drive(
      clock,
      policy.execute(
        async () => {
          calls++;
          throw timeout;
        },
        { retryOn: () => false },
      ),
    ).catch((e: unknown) => e);
    expect(error).toBe(timeout);
    expect(calls).toBe(1);
  });

  it('gives up with reason budget when the shared retry budget is spent', async () => {
    const clock = createManualClock();
    const registry = newRegistry();
    const { logger, events } = captureLogger();
    const budget = createRetryBudget(
      'inventory',
      { budgetPercent: 0, minRetriesPerSecond: 0.1, windowMs: 10_000 },
      { clock, logger },
    );
    const policy = createRetryPolicy(
      'inventory',
      { maxAttempts: 3, initialDelayMs: 1 },
      { registry, logger, clock, budget },
    );
    let calls = 0;
    const failing = async (): Promise<never> => {
      calls++;
      throw new Retryable();
    };
    // The floor allows one retry per 10 s window: the first call retries once, then the budget is spent.
    const first = await drive(clock, policy.execute(failing)).catch((e: unknown) => e);
    expect(first).toMatchObject({ reason: 'budget', attempts: 2 });
    const second = await drive(clock, policy.execute(failing)).catch((e: unknown) => e);
    expect(second).toMatchObject({ reason: 'budget', attempts: 1 });
    expect(calls).toBe(3);
    expect(events.filter((e) => e.msg === 'retry budget exhausted')).toHaveLength(1);
  });

  it('rejects a maxAttempts below 1', () => {
    expect(() => setup({ maxAttempts: 0 })).toThrow(RangeError);
  });
});
