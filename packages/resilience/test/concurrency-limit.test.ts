import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '../src/clock/clock.ts';
import { createConcurrencyLimiter } from '../src/concurrency/concurrency-limiter.ts';
import { GradientLimit } from '../src/concurrency/gradient-limit.ts';
import { ConcurrencyLimitError } from '../src/errors/errors.ts';
import { createDependencyPolicy } from '../src/policy/dependency-policy.ts';
import { captureLogger, deferred, flush, metricValue, newRegistry } from './helpers.ts';

describe('gradient limit', () => {
  it('grows while round-trip times stay at their average and the limit is used', () => {
    const limit = new GradientLimit({ initialLimit: 10, maxLimit: 100, queueSize: 4, smoothing: 0.5 });
    for (let i = 0; i < 20; i++) limit.update(10, limit.limit);
    expect(limit.limit).toBeGreaterThan(10);
    expect(limit.limit).toBeLessThanOrEqual(100);
  });

  it('shrinks toward the minimum when round-trip times rise above their long-term average', () => {
    // queueSize 1: at the gradient's floor of 0.5 the limit settles at 0.5 * limit + 1, that is 2.
    const limit = new GradientLimit({ initialLimit: 40, minLimit: 2, maxLimit: 100, queueSize: 1 });
    for (let i = 0; i < 10; i++) limit.update(10, 40);
    const before = limit.limit;
    // The dependency now queues our burst: each RTT is 10 times the average.
    for (let i = 0; i < 30; i++) limit.update(100, limit.limit);
    expect(limit.limit).toBeLessThan(before);
    for (let i = 0; i < 200; i++) limit.update(1000, limit.limit);
    expect(limit.limit).toBe(2);
  });

  it('does not move while less than half the limit is in use', () => {
    const limit = new GradientLimit({ initialLimit: 20 });
    for (let i = 0; i < 10; i++) limit.update(10, 2);
    for (let i = 0; i < 10; i++) limit.update(500, 2);
    expect(limit.limit).toBe(20);
  });

  it('rejects limits that do not fit min <= initial <= max', () => {
    expect(() => new GradientLimit({ minLimit: 10, initialLimit: 5 })).toThrow(RangeError);
    expect(() => new GradientLimit({ maxLimit: 0 })).toThrow(RangeError);
    expect(() => new GradientLimit({ smoothing: 0 })).toThrow(RangeError);
  });
});

function limiter(options: Parameters<typeof createConcurrencyLimiter>[1]) {
  const clock = createManualClock();
  const registry = newRegistry();
  const { logger } = captureLogger();
  return {
    clock,
    registry,
    limiter: createConcurrencyLimiter('inventory', options, { registry, logger, clock }),
  };
}

const wait = (timeoutMs = Infinity) => ({ timeoutMs, onTimeout: () => new Error('waited too long') });

describe('concurrency limiter', () => {
  it('admits up to the limit, queues the rest first come first served', async () => {
    const { limiter: l } = limiter({ initialLimit: 2, minLimit: 1, maxQueue: 10 });
    const a = await l.acquire(wait());
    await l.acquire(wait());
    const order: string[] = [];
    const c = l.acquire(wait()).then((p) => (order.push('c'), p));
    const d = l.acquire(wait()).then((p) => (order.push('d'), p));
    expect(l.queued).toBe(2);
    a.release();
    (await c).release();
    await flush();
    expect(order).toEqual(['c', 'd']);
    (await d).release();
  });

  it('rejects with ConcurrencyLimitError when the queue is full, and reports its gauges', async () => {
    const { limiter: l, registry } = limiter({ initialLimit: 1, minLimit: 1, maxQueue: 1 });
    await l.acquire(wait());
    const queued = l.acquire(wait());
    await expect(l.acquire(wait())).rejects.toBeInstanceOf(ConcurrencyLimitError);
    const gauge = (name: string) => metricValue(registry, name, { dependency: 'inventory' });
    expect(await gauge('resilience_concurrency_limit')).toBe(1);
    expect(await gauge('resilience_concurrency_inflight')).toBe(1);
    expect(await gauge('resilience_concurrency_queued')).toBe(1);
    void queued;
  });

  it('lends a free slot without queueing, and none while the limit is full or others wait', async () => {
    const { limiter: l } = limiter({ initialLimit: 2, minLimit: 2, maxLimit: 2 });
    const first = l.tryAcquire();
    expect(first).toBeDefined();
    await l.acquire(wait());
    // 2 of 2 in use.
    expect(l.tryAcquire()).toBeUndefined();
    const waiting = l.acquire(wait());
    first!.release();
    // The freed slot goes to the caller that waited, not to a newcomer.
    await waiting;
    expect(l.tryAcquire()).toBeUndefined();
    expect(l.inflight).toBe(2);
  });

  it('gives up waiting after the timeout and frees the queue slot', async () => {
    const { limiter: l, clock } = limiter({ initialLimit: 1, minLimit: 1, maxQueue: 1 });
    await l.acquire(wait());
    const waiting = l.acquire(wait(200)).catch((e: unknown) => e);
    clock.advance(200);
    expect(((await waiting) as Error).message).toBe('waited too long');
    expect(l.queued).toBe(0);
  });

  it('turns a burst into a queue in the dependency policy without ever opening the circuit', async () => {
    const clock = createManualClock();
    const registry = newRegistry();
    const { logger } = captureLogger();
    const policy = createDependencyPolicy(
      'inventory',
      {
        timeoutMs: 1000,
        deadlineMs: 2000,
        retry: false,
        bulkhead: false,
        circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 1 } },
        concurrencyLimit: { initialLimit: 2, minLimit: 1, maxLimit: 2, maxQueue: 1 },
      },
      { registry, logger, clock },
    );
    const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
    let started = 0;
    const calls = gates.map((gate) =>
      policy.execute(() => (started++, gate.promise)).catch((e: unknown) => e),
    );
    const rejected = await policy.execute(async () => 'never').catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ConcurrencyLimitError);
    await flush();
    expect(started).toBe(2);
    gates[0]!.resolve('a');
    await flush();
    expect(started).toBe(3);
    gates[1]!.resolve('b');
    gates[2]!.resolve('c');
    expect(await Promise.all(calls)).toEqual(['a', 'b', 'c']);
    expect(policy.circuitState).toBe('closed');
    expect(
      await metricValue(registry, 'resilience_calls_total', {
        dependency: 'inventory',
        outcome: 'rejected_limit',
      }),
    ).toBe(1);
    policy.dispose();
  });

  it('does not count a timeout of an attempt that our own queue left with too little of the deadline', async () => {
    const clock = createManualClock();
    const registry = newRegistry();
    const { logger } = captureLogger();
    const policy = createDependencyPolicy(
      'inventory',
      {
        timeoutMs: 1000,
        deadlineMs: 3000,
        retry: false,
        bulkhead: false,
        circuitBreaker: { failureDetector: { kind: 'consecutive', failures: 1 } },
        concurrencyLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1 },
      },
      { registry, logger, clock },
    );
    const answerAfter900 = () => new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 900));
    // One at a time: A, B and C answer in 900 ms each; D starts at 2700 ms with 300 ms of its deadline
    // left and hangs; E waits in the queue until its deadline.
    const calls = [
      ...[0, 1, 2].map(() => policy.execute(answerAfter900)),
      policy.execute(() => new Promise<string>(() => undefined)),
      policy.execute(answerAfter900),
    ].map((call) => call.catch((e: unknown) => e));
    for (let t = 0; t < 3000; t += 50) {
      await flush();
      clock.advance(50);
    }
    const results = await Promise.all(calls);
    expect(results.slice(0, 3)).toEqual(['ok', 'ok', 'ok']);
    expect(results[3]).toMatchObject({ code: 'TIMEOUT', scope: 'deadline' });
    expect(results[4]).toMatchObject({ code: 'TIMEOUT', scope: 'deadline' });
    expect(policy.circuitState).toBe('closed');
    policy.dispose();
  });
});
