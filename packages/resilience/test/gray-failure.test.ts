import { afterEach, describe, expect, it } from '@jest/globals';
import type { CircuitState } from '../src/breaker/circuit-breaker.ts';
import { CircuitOpenError, RetriesExhaustedError, TimeoutError } from '../src/errors/errors.ts';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../src/http/http-client.ts';
import { captureLogger, metricValue, newRegistry } from './helpers.ts';
import { startReplica, startRoundRobinProxy, type RoundRobinProxy } from './support/replicas.ts';

// Two replicas of a dependency behind a real per-connection round-robin TCP proxy (what a Kubernetes
// Service does), the client knowing only the proxy's address. The figures these runs produce (failure
// rates, hedges) are printed by bench/gray-failure-bench.ts; the tests assert behaviour only.

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function twoReplicas(options: Parameters<typeof startReplica>[1] = {}) {
  const replicas = [await startReplica('a', options), await startReplica('b', options)];
  const proxy = await startRoundRobinProxy(replicas);
  cleanup.push(() => Promise.all(replicas.map((r) => r.close())).then(() => undefined));
  cleanup.push(() => proxy.close());
  return { replicas, proxy };
}

/** The policy order's inventory client uses, with test-sized timings. */
const GRAY_POLICY: Omit<HttpClientOptions, 'dependency' | 'baseURL'> = {
  timeoutMs: 1000,
  deadlineMs: 3000,
  retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100, minAttemptMs: 100 },
  circuitBreaker: {
    failureDetector: { kind: 'count', size: 20, failureRatePercent: 50, minimumCalls: 10 },
    coolDownMs: 5000,
  },
  bulkhead: false,
  concurrencyLimit: { initialLimit: 20, minLimit: 4, maxLimit: 64 },
  hedging: { maxHedgedAttempts: 2, minDelayMs: 20, maxDelayMs: 200 },
};

function client(proxy: RoundRobinProxy, policy: Omit<HttpClientOptions, 'dependency' | 'baseURL'>) {
  const registry = newRegistry();
  const { logger } = captureLogger();
  const c = createHttpClient(
    { ...policy, dependency: 'inventory', baseURL: proxy.url },
    { registry, logger },
  );
  cleanup.push(() => c.dispose());
  const states: CircuitState[] = [];
  c.policy.onCircuitStateChange(({ to }) => states.push(to));
  return { client: c, registry, states };
}

/** `total` idempotent POSTs, `concurrency` at a time; resolves with the errors of the calls that failed. */
async function run(c: HttpClient, total: number, concurrency: number, prefix: string): Promise<unknown[]> {
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const id = next++;
      await c
        .post('/reservations', { orderId: `${prefix}-${id}` }, { idempotencyKey: `${prefix}-${id}` })
        .catch((error: unknown) => void errors.push(error));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return errors;
}

/**
 * Rounds of 20 calls until one passes without an error, the circuit closed: the state the test starts
 * from (on a busy machine a 200 ms attempt can time out while warming up, which is not what it tests).
 * Circuit changes seen while warming up are forgotten.
 */
async function warmUp(c: HttpClient, states: CircuitState[]): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const errors = await run(c, 20, 5, `warm-${round}`);
    if (errors.length === 0 && c.circuitState === 'closed') {
      states.length = 0;
      return;
    }
  }
  throw new Error(
    '5 warm-up rounds of 20 calls each had errors: the machine is too busy for 200 ms attempts',
  );
}

describe('gray failures behind a per-connection round-robin Service', () => {
  it('loses at most 0.5 % of calls and keeps the circuit closed while one of two replicas is frozen', async () => {
    const { replicas, proxy } = await twoReplicas();
    const { client: c, registry, states } = client(proxy, GRAY_POLICY);
    // Warm up: the pool holds connections to both replicas and the hedge delay knows the latency.
    expect(await run(c, 100, 10, 'warm')).toEqual([]);
    replicas[0]!.freeze();
    const receivedBefore = replicas[0]!.received;
    const total = 600;
    const errors = await run(c, total, 10, 'gray');
    expect(errors.length).toBeLessThanOrEqual(total * 0.005);
    expect(states).not.toContain('open');
    expect(c.circuitState).toBe('closed');
    // The frozen replica was really in the path: it got calls that never answered, and a hedge or a
    // retry on a fresh connection covered each of them.
    expect(replicas[0]!.received).toBeGreaterThan(receivedBefore);
    const hedgesWon = await metricValue(registry, 'resilience_hedges_total', {
      dependency: 'inventory',
      outcome: 'won',
    });
    const retries = await metricValue(registry, 'resilience_retries_total', { dependency: 'inventory' });
    expect(hedgesWon + retries).toBeGreaterThan(0);
    expect(
      await metricValue(registry, 'resilience_calls_total', { dependency: 'inventory', outcome: 'success' }),
    ).toBe(100 + total - errors.length);
  });

  it('opens the circuit when both replicas are frozen', async () => {
    const { replicas, proxy } = await twoReplicas();
    const { client: c, states } = client(proxy, {
      ...GRAY_POLICY,
      timeoutMs: 200,
      deadlineMs: 600,
      hedging: { maxHedgedAttempts: 1, delayMs: 50 },
    });
    await warmUp(c, states);
    for (const replica of replicas) replica.freeze();
    const errors = await run(c, 40, 10, 'frozen');
    expect(states).toContain('open');
    expect(errors.some((e) => e instanceof CircuitOpenError)).toBe(true);
  });

  it('opens the circuit when both replicas are down (every connection reset behind the proxy)', async () => {
    const { replicas, proxy } = await twoReplicas();
    const { client: c, states } = client(proxy, GRAY_POLICY);
    await warmUp(c, states);
    for (const replica of replicas) replica.crash();
    const errors = await run(c, 40, 5, 'down');
    expect(states).toContain('open');
    expect(errors).toHaveLength(40);
    expect(errors.some((e) => e instanceof CircuitOpenError)).toBe(true);
  });
});

describe('bursts of our own', () => {
  // A healthy replica that works on 4 requests at a time, 10 ms each (a hot row in its database): 200
  // calls at once queue 500 ms deep there, twice the 250 ms attempt timeout.
  const BURST: Omit<HttpClientOptions, 'dependency' | 'baseURL'> = {
    timeoutMs: 250,
    deadlineMs: 10_000,
    retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 },
    retryBudget: false,
    circuitBreaker: {
      failureDetector: { kind: 'count', size: 20, failureRatePercent: 50, minimumCalls: 10 },
      coolDownMs: 5000,
    },
    bulkhead: false,
    maxSockets: 256,
  };

  it('rejects none of 200 concurrent calls at the breaker when an adaptive limit queues the burst', async () => {
    const { proxy } = await twoReplicas({ concurrency: 2, workMs: 10 });
    const {
      client: c,
      registry,
      states,
    } = client(proxy, {
      ...BURST,
      concurrencyLimit: { initialLimit: 8, minLimit: 2, maxLimit: 16 },
    });
    const errors = await run(c, 200, 200, 'burst');
    // What the limit is for: no call turned away at the breaker, which never opened. A machine busy
    // elsewhere (a CPU-stress suite beside this one) can still time out an attempt twice: such a call
    // fails on its own timeouts, is counted, and is not what this test is about.
    const timedOut = (e: unknown) => e instanceof RetriesExhaustedError && e.cause instanceof TimeoutError;
    expect(errors.filter((e) => !timedOut(e))).toEqual([]);
    expect(states).toEqual([]);
    expect(
      await metricValue(registry, 'resilience_calls_total', { dependency: 'inventory', outcome: 'success' }),
    ).toBe(200 - errors.length);
    expect(await metricValue(registry, 'resilience_concurrency_inflight', { dependency: 'inventory' })).toBe(
      0,
    );
  });

  it('trips the breaker on the same burst without the limit (what the limit prevents)', async () => {
    const { proxy } = await twoReplicas({ concurrency: 2, workMs: 10 });
    const { client: c, states } = client(proxy, BURST);
    const errors = await run(c, 200, 200, 'burst');
    // Attempts time out in the replica's queue, whole calls fail, and the circuit opens on a healthy replica.
    expect(states).toContain('open');
    expect(errors.length).toBeGreaterThan(0);
    // The next caller is turned away although nothing is wrong with the dependency.
    await expect(c.post('/reservations', {}, { idempotencyKey: 'after' })).rejects.toBeInstanceOf(
      CircuitOpenError,
    );
  });
});
