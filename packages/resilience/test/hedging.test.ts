import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '../src/clock/clock.ts';
import { createDependencyPolicy } from '../src/policy/dependency-policy.ts';
import { createHedging, type HedgingOptions } from '../src/hedging/hedging.ts';
import { captureLogger, deferred, flush, metricValue, newRegistry } from './helpers.ts';

function setup(options: HedgingOptions) {
  const clock = createManualClock();
  const registry = newRegistry();
  const { logger } = captureLogger();
  const hedging = createHedging('inventory', options, { registry, logger, clock });
  const hedges = (outcome: string) =>
    metricValue(registry, 'resilience_hedges_total', { dependency: 'inventory', outcome });
  return { clock, hedging, hedges };
}

describe('hedging', () => {
  it('sends a hedge after the delay, takes the first answer and aborts the slower attempt', async () => {
    const { clock, hedging, hedges } = setup({ delayMs: 100 });
    const first = deferred<string>();
    const signals: AbortSignal[] = [];
    const result = hedging.execute((hedge, signal) => {
      signals.push(signal);
      return hedge ? Promise.resolve('hedge') : first.promise;
    });
    await flush();
    expect(signals).toHaveLength(1);
    clock.advance(99);
    expect(signals).toHaveLength(1);
    clock.advance(1);
    expect(signals).toHaveLength(2);
    await expect(result).resolves.toBe('hedge');
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]!.aborted).toBe(false);
    expect(await hedges('won')).toBe(1);
    expect(await hedges('lost')).toBe(0);
  });

  it('sends no hedge when the first attempt answers within the delay', async () => {
    const { clock, hedging, hedges } = setup({ delayMs: 100 });
    let started = 0;
    await expect(
      hedging.execute(async () => {
        started++;
        return 'fast';
      }),
    ).resolves.toBe('fast');
    clock.advance(1000);
    expect(started).toBe(1);
    expect(await hedges('won')).toBe(0);
  });

  it('counts a hedge that loses to the first attempt as lost and aborts it', async () => {
    const { clock, hedging, hedges } = setup({ delayMs: 50 });
    const first = deferred<string>();
    const signals: AbortSignal[] = [];
    const result = hedging.execute((hedge, signal) => {
      signals.push(signal);
      return hedge ? new Promise<string>(() => undefined) : first.promise;
    });
    clock.advance(50);
    first.resolve('first');
    await expect(result).resolves.toBe('first');
    expect(signals[1]!.aborted).toBe(true);
    expect(await hedges('lost')).toBe(1);
    expect(await hedges('won')).toBe(0);
  });

  it('fails with the last error only once every attempt has failed retryably', async () => {
    const retryable = (message: string) => Object.assign(new Error(message), { retryable: true });
    const { clock, hedging, hedges } = setup({ delayMs: 10, maxHedgedAttempts: 2 });
    const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
    let n = 0;
    const result = hedging.execute(() => gates[n++]!.promise).catch((e: unknown) => e);
    clock.advance(10);
    clock.advance(10);
    expect(n).toBe(3);
    gates[0]!.reject(retryable('first'));
    gates[2]!.reject(retryable('third'));
    await flush();
    gates[1]!.reject(retryable('second'));
    expect(((await result) as Error).message).toBe('second');
    expect(await hedges('failed')).toBe(2);
  });

  it('ends the call at once on a definitive answer, without waiting for the hedge', async () => {
    const { clock, hedging } = setup({ delayMs: 10 });
    const first = deferred<string>();
    const signals: AbortSignal[] = [];
    const result = hedging.execute((hedge, signal) => {
      signals.push(signal);
      return hedge ? new Promise<string>(() => undefined) : first.promise;
    });
    clock.advance(10);
    const conflict = Object.assign(new Error('409 insufficient stock'), { retryable: false });
    first.reject(conflict);
    await expect(result).rejects.toBe(conflict);
    expect(signals[1]!.aborted).toBe(true);
  });

  it('sends no hedge without spare capacity, and gives the capacity back when the hedge ends', async () => {
    const { clock, hedging, hedges } = setup({ delayMs: 10, maxHedgedAttempts: 2 });
    let spare = 0;
    let released = 0;
    const admit = () => (spare > 0 ? (spare--, () => void released++) : undefined);
    const first = deferred<string>();
    const result = hedging.execute((hedge) => (hedge ? Promise.resolve('hedge') : first.promise), { admit });
    clock.advance(10);
    expect(await hedges('skipped')).toBe(1);
    spare = 1;
    clock.advance(10);
    await expect(result).resolves.toBe('hedge');
    expect(await hedges('won')).toBe(1);
    expect(released).toBe(1);
  });

  it('skips hedges once the hedge budget is spent', async () => {
    const { clock, hedging, hedges } = setup({ delayMs: 10, budgetPercent: 0, minHedgesPerSecond: 0.1 });
    // The floor allows one hedge per 10 s window.
    for (let i = 0; i < 3; i++) {
      const gate = deferred<string>();
      const result = hedging.execute((hedge) => (hedge ? Promise.resolve('hedge') : gate.promise));
      clock.advance(10);
      gate.resolve('first');
      await result;
    }
    expect(await hedges('won')).toBe(1);
    expect(await hedges('skipped')).toBe(2);
  });

  it('waits the given percentile of recent latency, bounded by the minimum and maximum delay', () => {
    const { hedging } = setup({ percentile: 90, minDelayMs: 20, maxDelayMs: 300 });
    // Fewer than 20 samples: the maximum.
    expect(hedging.delayMs).toBe(300);
    for (let ms = 1; ms <= 100; ms++) hedging.recordLatency(ms);
    // Nearest rank: the 90th of 100 samples 1..100 is 90.
    expect(hedging.delayMs).toBe(90);
    for (let i = 0; i < 256; i++) hedging.recordLatency(5);
    expect(hedging.delayMs).toBe(20);
    for (let i = 0; i < 256; i++) hedging.recordLatency(1000);
    expect(hedging.delayMs).toBe(300);
  });

  it('stops every attempt when the caller aborts', async () => {
    const { clock, hedging } = setup({ delayMs: 10 });
    const caller = new AbortController();
    const signals: AbortSignal[] = [];
    const result = hedging.execute(
      (_hedge, signal) => {
        signals.push(signal);
        return new Promise<string>(() => undefined);
      },
      { signal: caller.signal },
    );
    clock.advance(10);
    const reason = new Error('client left');
    caller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
  });

  it('hedges through the dependency policy only the calls that ask for it, the hedge on a fresh connection', async () => {
    const clock = createManualClock();
    const registry = newRegistry();
    const { logger } = captureLogger();
    const policy = createDependencyPolicy(
      'inventory',
      { timeoutMs: 1000, retry: false, hedging: { delayMs: 100 } },
      { registry, logger, clock },
    );
    const seen: Array<{ attempt: number; fresh: boolean; hedge: boolean }> = [];
    const call = (hedge: boolean) =>
      policy.execute(
        (ctx) => {
          seen.push({ attempt: ctx.attempt, fresh: ctx.freshConnection, hedge: ctx.hedge });
          return ctx.attempt === 1 ? new Promise<string>(() => undefined) : Promise.resolve('hedged');
        },
        { hedge },
      );
    const hedged = call(true);
    await flush();
    clock.advance(100);
    await expect(hedged).resolves.toBe('hedged');
    expect(seen).toEqual([
      { attempt: 1, fresh: false, hedge: false },
      { attempt: 2, fresh: true, hedge: true },
    ]);
    seen.length = 0;
    const plain = call(false).catch((e: unknown) => e);
    await flush();
    clock.advance(1000);
    expect(await plain).toMatchObject({ code: 'TIMEOUT' });
    expect(seen).toEqual([{ attempt: 1, fresh: false, hedge: false }]);
    expect(policy.circuitState).toBe('closed');
    policy.dispose();
  });

  // What a frozen replica does to a limited policy: the calls stalled on it hold their slots.
  function limitedPolicy(limit: {
    initialLimit: number;
    minLimit: number;
    maxLimit: number;
    queueSize?: number;
  }) {
    const clock = createManualClock();
    const registry = newRegistry();
    const { logger } = captureLogger();
    const policy = createDependencyPolicy(
      'inventory',
      { timeoutMs: 1000, retry: false, bulkhead: false, concurrencyLimit: limit, hedging: { delayMs: 100 } },
      { registry, logger, clock },
    );
    // Attempt 1 of a call stalls (it went to the frozen replica); a hedge answers after `ms`.
    const stalledCall = (ms: number) =>
      policy.execute(
        (ctx) =>
          ctx.hedge
            ? new Promise<string>((resolve) => clock.setTimeout(() => resolve('hedged'), ms))
            : new Promise<string>(() => undefined),
        { hedge: true },
      );
    const fastCall = (ms: number) =>
      policy.execute(() => new Promise<string>((resolve) => clock.setTimeout(() => resolve('fast'), ms)), {
        hedge: true,
      });
    return { clock, policy, stalledCall, fastCall };
  }

  it('hedges calls stalled on a frozen replica even when they hold half the concurrency limit', async () => {
    const { clock, policy, stalledCall } = limitedPolicy({ initialLimit: 4, minLimit: 4, maxLimit: 4 });
    const calls = [stalledCall(0), stalledCall(0)];
    await flush();
    expect(policy.concurrencyLimiter!.inflight).toBe(2);
    clock.advance(100);
    await expect(Promise.all(calls)).resolves.toEqual(['hedged', 'hedged']);
    expect(policy.concurrencyLimiter!.inflight).toBe(0);
    policy.dispose();
  });

  it('sends no hedge while its own calls queue for the concurrency limit', async () => {
    const { clock, policy, stalledCall } = limitedPolicy({ initialLimit: 2, minLimit: 2, maxLimit: 2 });
    const calls = [stalledCall(0), stalledCall(0), stalledCall(0)].map((p) => p.catch((e: unknown) => e));
    await flush();
    expect(policy.concurrencyLimiter!.queued).toBe(1);
    clock.advance(100);
    // No hedge took a slot from the queued call: the two running ones time out, then the queued one runs.
    expect(policy.concurrencyLimiter!.inflight).toBe(2);
    clock.advance(900);
    await flush();
    expect(policy.concurrencyLimiter!.inflight).toBe(1);
    clock.advance(100);
    const results = await Promise.all(calls);
    expect(results.slice(0, 2)).toEqual([
      expect.objectContaining({ code: 'TIMEOUT' }),
      expect.objectContaining({ code: 'TIMEOUT' }),
    ]);
    expect(results[2]).toBe('hedged');
    policy.dispose();
  });

  it("keeps the limit when hedges answer as fast as usual: it learns the answering attempt's round trip", async () => {
    const { clock, policy, stalledCall, fastCall } = limitedPolicy({
      initialLimit: 8,
      minLimit: 2,
      maxLimit: 8,
      queueSize: 0,
    });
    // The usual round trip is 5 ms.
    for (let i = 0; i < 10; i++) {
      const call = fastCall(5);
      await flush();
      clock.advance(5);
      await call;
    }
    // Then a frozen replica: every call waits 100 ms for its hedge, which answers in 5 ms as usual.
    for (let round = 0; round < 5; round++) {
      const calls = [0, 1, 2, 3].map(() => stalledCall(5));
      await flush();
      clock.advance(100);
      await flush();
      clock.advance(5);
      await Promise.all(calls);
    }
    // Calls of 105 ms against a 5 ms average would have halved it toward the floor.
    expect(policy.concurrencyLimiter!.limit).toBe(8);
    policy.dispose();
  });
});
