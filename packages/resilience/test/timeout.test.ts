import { getEventListeners } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '../src/clock/clock.ts';
import { TimeoutError } from '../src/errors/errors.ts';
import { createTimeoutPolicy, runAttempt, type AttemptContext } from '../src/timeout/timeout.ts';
import { deferred, flush } from './helpers.ts';

describe('timeout', () => {
  it('rejects with TimeoutError at the timeout even when the callee ignores its signal', async () => {
    const clock = createManualClock();
    const policy = createTimeoutPolicy('inventory', { timeoutMs: 100 }, { clock });
    const never = deferred<string>();
    const result = policy.execute(() => never.promise);
    clock.advance(100);
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({
      dependency: 'inventory',
      code: 'TIMEOUT',
      timeoutMs: 100,
      scope: 'attempt',
    });
  });

  it('aborts the signal of the attempt when it times out, with the TimeoutError as reason', async () => {
    const clock = createManualClock();
    const policy = createTimeoutPolicy('inventory', { timeoutMs: 100 }, { clock });
    let seen: AbortSignal | undefined;
    const result = policy.execute(
      (ctx) =>
        new Promise((_, reject) => {
          seen = ctx.signal;
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    );
    expect(seen?.aborted).toBe(false);
    clock.advance(100);
    await expect(result).rejects.toBeInstanceOf(TimeoutError);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
  });

  it('resolves with the value and leaves no timer behind once its timeout has passed', async () => {
    const clock = createManualClock();
    const policy = createTimeoutPolicy('inventory', { timeoutMs: 100 }, { clock });
    await expect(policy.execute(async () => 42)).resolves.toBe(42);
    clock.advance(100);
    expect(clock.pendingTimers).toBe(0);
  });

  it('passes through an error the callee throws synchronously', async () => {
    const policy = createTimeoutPolicy('inventory', { timeoutMs: 100 }, { clock: createManualClock() });
    const boom = new Error('boom');
    await expect(
      policy.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  it('creates no AbortController for a callee that never reads ctx.signal', async () => {
    const created: AbortController[] = [];
    const Original = globalThis.AbortController;
    class Counting extends Original {
      constructor() {
        super();
        created.push(this);
      }
    }
    globalThis.AbortController = Counting;
    try {
      const clock = createManualClock();
      await runAttempt(async () => 1, {
        dependency: 'd',
        attempt: 1,
        timeoutMs: 50,
        scope: 'attempt',
        clock,
      });
      expect(created).toHaveLength(0);
      await runAttempt(async (ctx) => ctx.signal.aborted, {
        dependency: 'd',
        attempt: 1,
        timeoutMs: 50,
        scope: 'attempt',
        clock,
      });
      expect(created).toHaveLength(1);
    } finally {
      globalThis.AbortController = Original;
    }
  });

  it('gives a signal read after the timeout an already aborted state', async () => {
    const clock = createManualClock();
    let ctxSeen: AttemptContext | undefined;
    const result = runAttempt(
      (ctx) => {
        ctxSeen = ctx;
        return new Promise(() => undefined);
      },
      { dependency: 'd', attempt: 1, timeoutMs: 10, scope: 'attempt', clock },
    );
    clock.advance(10);
    await expect(result).rejects.toBeInstanceOf(TimeoutError);
    expect(ctxSeen!.signal.aborted).toBe(true);
  });

  it('rejects with the reason of the caller signal when the caller aborts, and aborts the attempt', async () => {
    const clock = createManualClock();
    const caller = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const result = runAttempt(
      (ctx) => {
        attemptSignal = ctx.signal;
        return new Promise(() => undefined);
      },
      { dependency: 'd', attempt: 1, timeoutMs: 1000, scope: 'attempt', clock, signal: caller.signal },
    );
    const reason = new Error('client went away');
    caller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(attemptSignal?.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('leaves no listener on a long-lived caller signal after thousands of calls', async () => {
    const clock = createManualClock();
    const caller = new AbortController();
    for (let i = 0; i < 5000; i++) {
      await runAttempt(async (ctx) => ctx.signal.aborted, {
        dependency: 'd',
        attempt: 1,
        timeoutMs: 1000,
        scope: 'attempt',
        clock,
        signal: caller.signal,
      });
    }
    const failing = runAttempt(() => Promise.reject(new Error('x')), {
      dependency: 'd',
      attempt: 1,
      timeoutMs: 1000,
      scope: 'attempt',
      clock,
      signal: caller.signal,
    });
    await expect(failing).rejects.toThrow('x');
    const slow = runAttempt(() => new Promise(() => undefined), {
      dependency: 'd',
      attempt: 1,
      timeoutMs: 5,
      scope: 'attempt',
      clock,
      signal: caller.signal,
    });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    clock.advance(5);
    await expect(slow).rejects.toBeInstanceOf(TimeoutError);
    await flush();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});
