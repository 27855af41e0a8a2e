import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createBulkhead, type Bulkhead, type BulkheadOptions } from '../bulkhead/bulkhead.ts';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitState,
  type CircuitStateChange,
  type Disposable,
} from '../breaker/circuit-breaker.ts';
import { systemClock, type Clock } from '../clock/clock.ts';
import {
  BulkheadFullError,
  CircuitOpenError,
  countsAsFailure,
  PolicyDisposedError,
  RetriesExhaustedError,
  TimeoutError,
} from '../errors/errors.ts';
import { shouldFallBack, type Fallback } from '../fallback/fallback.ts';
import type { HealthCheck } from '../health/health-check.ts';
import { dependencyMetrics, type CallOutcome } from '../metrics/metrics.ts';
import { createRetryBudget, type RetryBudget, type RetryBudgetOptions } from '../retry/retry-budget.ts';
import { createRetryPolicy, type RetryOptions, type RetryPolicy } from '../retry/retry.ts';
import { createTimeoutQueue } from '../timeout/timeout-queue.ts';
import { runAttempt, type AttemptContext } from '../timeout/timeout.ts';

export interface DependencyPolicyOptions {
  /** Timeout of each attempt; default 2000 ms (Infinity for none). */
  readonly timeoutMs?: number;
  /** Deadline of the whole call, queueing, attempts and backoff included; default 10000 ms (Infinity for none). */
  readonly deadlineMs?: number;
  /** Retry settings, or false for a single attempt; default 3 attempts. */
  readonly retry?: RetryOptions | false;
  /** Budget options, a budget shared with other policies, or false; default 20% of requests, 3/s minimum. */
  readonly retryBudget?: RetryBudgetOptions | RetryBudget | false;
  readonly circuitBreaker?: CircuitBreakerOptions;
  /** Bulkhead settings, or false for none; default 32 concurrent, 64 queued. */
  readonly bulkhead?: BulkheadOptions | false;
  /** Which errors a per-call fallback answers; default failures of the dependency (not 4xx answers). */
  readonly fallbackWhen?: (error: unknown) => boolean;
}

export interface DependencyPolicyDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Uniform in [0, 1); drives the retry jitter. */
  readonly random?: () => number;
}

export interface ExecuteOptions<T> {
  /** The caller's signal: aborting it aborts the running attempt, the backoff wait or the queued call. */
  readonly signal?: AbortSignal;
  /** Answer to return instead of failing (counted as outcome `fallback`). */
  readonly fallback?: Fallback<T>;
  /** Narrows or widens the retry predicate for this call. */
  readonly retryOn?: (error: unknown) => boolean;
}

export interface DependencyPolicy {
  readonly name: string;
  readonly circuitState: CircuitState;
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead | undefined;
  readonly retryBudget: RetryBudget | undefined;
  /**
   * Runs `fn` through fallback → bulkhead → retry → circuit breaker → timeout. Each attempt gets its own
   * `ctx.signal`, aborted when that attempt times out or the caller aborts.
   */
  execute<T>(fn: (ctx: AttemptContext) => Promise<T>, opts?: ExecuteOptions<T>): Promise<T>;
  onCircuitStateChange(listener: (change: CircuitStateChange) => void): Disposable;
  /** `circuit:<dependency>`, non-critical unless `circuitBreaker.critical`; fails while the circuit is open. */
  healthCheck(): HealthCheck;
  /** Holds the circuit open (maintenance, known outage) until reset(). */
  isolate(): void;
  /** Closes the circuit and forgets its recorded outcomes. */
  reset(): void;
  /** Stops timers and drops listeners; later calls reject with PolicyDisposedError. */
  dispose(): void;
}

export function createDependencyPolicy(
  name: string,
  options: DependencyPolicyOptions,
  deps: DependencyPolicyDeps,
): DependencyPolicy {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger;
  const timeoutMs = options.timeoutMs ?? 2000;
  const deadlineMs = options.deadlineMs ?? 10_000;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${timeoutMs}`);
  if (!(deadlineMs > 0)) throw new RangeError(`deadlineMs must be > 0, got ${deadlineMs}`);
  const metrics = dependencyMetrics(deps.registry, name);
  const isFailure = options.circuitBreaker?.isFailure ?? countsAsFailure;
  const fallbackWhen = options.fallbackWhen ?? shouldFallBack;
  const breaker = new CircuitBreaker(name, options.circuitBreaker ?? {}, { ...deps, clock });
  const bulkhead =
    options.bulkhead === false ? undefined : createBulkhead(name, options.bulkhead, { logger });
  const budget =
    options.retry === false || options.retryBudget === false
      ? undefined
      : isRetryBudget(options.retryBudget)
        ? options.retryBudget
        : createRetryBudget(name, options.retryBudget, { clock, logger });
  const retry: RetryPolicy | undefined =
    options.retry === false || options.retry?.maxAttempts === 1
      ? undefined
      : createRetryPolicy(name, options.retry ?? {}, {
          registry: deps.registry,
          logger,
          clock,
          ...(deps.random === undefined ? {} : { random: deps.random }),
          ...(budget === undefined ? {} : { budget }),
        });
  const timeouts = createTimeoutQueue(clock);
  const timed = breaker.measuresDuration;
  let disposed = false;

  const attempt = <T>(
    fn: (ctx: AttemptContext) => Promise<T>,
    attemptNo: number,
    signal: AbortSignal | undefined,
    deadlineAt: number,
  ): Promise<T> => {
    let permit: CircuitPermit;
    try {
      permit = breaker.acquire();
    } catch (error) {
      return Promise.reject(error);
    }
    const started = clock.now();
    const left = deadlineAt - started;
    if (left <= 0) {
      breaker.release(permit);
      return Promise.reject(new TimeoutError(name, deadlineMs, 'deadline'));
    }
    const byDeadline = left < timeoutMs;
    return runAttempt(fn, {
      dependency: name,
      attempt: attemptNo,
      timeoutMs: byDeadline ? left : timeoutMs,
      scope: byDeadline ? 'deadline' : 'attempt',
      reportedTimeoutMs: byDeadline ? deadlineMs : timeoutMs,
      signal,
      clock,
      timeouts,
    }).then(
      (value) => {
        breaker.onSuccess(permit, timed ? clock.now() - started : 0);
        return value;
      },
      (error: unknown) => {
        if (signal?.aborted) breaker.release(permit);
        else breaker.onError(permit, error, timed ? clock.now() - started : 0);
        throw error;
      },
    );
  };

  const run = <T>(
    fn: (ctx: AttemptContext) => Promise<T>,
    signal: AbortSignal | undefined,
    deadlineAt: number,
    retryOn: ((error: unknown) => boolean) | undefined,
  ): Promise<T> =>
    retry === undefined
      ? attempt(fn, 1, signal, deadlineAt)
      : retry.execute((n) => attempt(fn, n, signal, deadlineAt), { signal, deadlineAt, retryOn });

  const outcomeOf = (error: unknown): CallOutcome => {
    if (error instanceof TimeoutError) return 'timeout';
    if (error instanceof RetriesExhaustedError)
      return error.cause instanceof TimeoutError ? 'timeout' : 'failure';
    if (error instanceof CircuitOpenError) return 'rejected_open';
    if (error instanceof BulkheadFullError) return 'rejected_bulkhead';
    // A 404 or 409 is the dependency answering as designed.
    return isFailure(error) ? 'failure' : 'success';
  };

  return {
    name,
    breaker,
    bulkhead,
    retryBudget: budget,
    get circuitState() {
      return breaker.state;
    },
    async execute<T>(fn: (ctx: AttemptContext) => Promise<T>, opts?: ExecuteOptions<T>): Promise<T> {
      if (disposed) throw new PolicyDisposedError(name);
      const started = clock.now();
      const signal = opts?.signal;
      const deadlineAt = started + deadlineMs;
      try {
        const value = await (bulkhead === undefined
          ? run(fn, signal, deadlineAt, opts?.retryOn)
          : bulkhead.execute(() => run(fn, signal, deadlineAt, opts?.retryOn), signal));
        metrics.call('success', (clock.now() - started) / 1000);
        return value;
      } catch (error) {
        const seconds = (clock.now() - started) / 1000;
        // Cancelled by the caller: neither a success nor a failure of the dependency.
        if (signal?.aborted) throw error;
        if (opts?.fallback !== undefined && fallbackWhen(error)) {
          metrics.call('fallback', seconds);
          logger.debug({ dependency: name, err: error }, 'fallback used');
          return opts.fallback(error);
        }
        metrics.call(outcomeOf(error), seconds);
        throw error;
      }
    },
    onCircuitStateChange: (listener) => breaker.onStateChange(listener),
    healthCheck: () => breaker.healthCheck(),
    isolate: () => breaker.isolate(),
    reset: () => breaker.reset(),
    dispose() {
      disposed = true;
      breaker.dispose();
      timeouts.dispose();
    },
  };
}

function isRetryBudget(value: RetryBudgetOptions | RetryBudget | undefined): value is RetryBudget {
  return typeof (value as RetryBudget | undefined)?.tryAcquireRetry === 'function';
}
