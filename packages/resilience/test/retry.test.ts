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

/** Advances the clock through every backoff wait, `stepMs` at a time, until the promise settles. */
async function drive<T>(
  clock: ReturnType<typeof createManualClock>,
  promise: Promise<T>,
  stepMs = 10,
): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5000 && !settled; i++) {
    await flush();
    clock.advance(stepMs);
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
    await drive(clock, result, 1).catch(() => undefined);
    expect(startedAt).toHaveLength(4);
    const gaps = startedAt.slice(1).map((t, i) => t - startedAt[i]!);
    // Polly's decorrelated jitter V2 with random 0.5: t = n + 0.5, next = 2^t * tanh(sqrt(4t)), delay =
    // (next - previous) / 1.4 * 100 ms, worked out by hand: 89.7, 109.3 and 203.6 ms, rounded.
    expect(gaps).toEqual([90, 109, 204]);
  });

  it('draws other delays from another random source', async () => {
    const delays = async (random: number): Promise<number[]> => {
      const { clock, policy } = setup({ maxAttempts: 3, initialDelayMs: 100 }, () => random);
      const startedAt: number[] = [];
      const result = policy.execute(async () => {
        startedAt.push(clock.now());
        throw new Retryable();
      });
      await drive(clock, result, 1).catch(() => undefined);
      expect(startedAt).toHaveLength(3);
      return startedAt.slice(1).map((t, i) => t - startedAt[i]!);
    };
    // random 0: t = 0 gives next = 0, so the first delay is 0; then t = 1: 2 * tanh(2) / 1.4 * 100 = 137.7.
    // (The driver moves the clock 1 ms at a time, so a 0 ms backoff shows as a gap of at most 1 ms.)
    const [first, second] = await delays(0);
    expect(first).toBeLessThanOrEqual(1);
    expect(second).toBe(138);
    expect(await delays(0.5)).not.toEqual(await delays(0));
  });

  it('does not start a retry when less than minAttemptMs of the deadline would be left', async () => {
    const run = async (minAttemptMs: number) => {
      const { clock, policy } = setup({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1, minAttemptMs });
      let calls = 0;
      const error = await drive(
        clock,
        policy.execute(
          async () => {
            calls++;
            throw new Retryable();
          },
          { deadlineAt: clock.now() + 1000 },
        ),
        1,
      ).catch((e: unknown) => e);
      return { calls, error };
    };
    const strict = await run(999);
    expect(strict.calls).toBe(1);
    expect(strict.error).toMatchObject({ reason: 'deadline', attempts: 1 });
    const lenient = await run(100);
    expect(lenient.calls).toBe(3);
    expect(lenient.error).toMatchObject({ reason: 'max-attempts', attempts: 3 });
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
    await expect(drive(clock, result, 1)).resolves.toBe('ok');
    expect(startedAt[1]! - startedAt[0]!).toBe(3000);
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
