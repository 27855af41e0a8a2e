import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createBulkhead, type Bulkhead, type BulkheadOptions } from '../bulkhead/bulkhead.ts';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitStateChange,
  type Disposable,
} from '../breaker/circuit-breaker.ts';
import { systemClock, type Clock } from '../clock/clock.ts';
import {
  createConcurrencyLimiter,
  type ConcurrencyLimiter,
  type ConcurrencyLimitOptions,
} from '../concurrency/concurrency-limiter.ts';
import { countsAsFailure, PolicyDisposedError, TimeoutError } from '../errors/errors.ts';
import { createHedging, type Hedging, type HedgingOptions } from '../hedging/hedging.ts';
import { shouldFallBack, type Fallback } from '../fallback/fallback.ts';
import type { HealthCheck } from '../health/health-check.ts';
import { dependencyMetrics, type DependencyMetrics } from '../metrics/metrics.ts';
import { createRetryBudget, type RetryBudget, type RetryBudgetOptions } from '../retry/retry-budget.ts';
import { createRetryPolicy, type RetryOptions, type RetryPolicy } from '../retry/retry.ts';
import { createTimeoutQueue, type TimeoutQueue } from '../timeout/timeout-queue.ts';
import { runAttempt, type AttemptContext } from '../timeout/timeout.ts';
import { outcomeOf } from './call-outcome.ts';
import { CallRecord } from './call-record.ts';

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
  /**
   * Adaptive concurrency limit (gradient, as Netflix concurrency-limits) inside the bulkhead; default none.
   * A burst waits for it instead of timing out at the dependency; being limited never counts as a failure.
   */
  readonly concurrencyLimit?: ConcurrencyLimitOptions | false;
  /** Hedging of the calls that ask for it (`ExecuteOptions.hedge`, idempotent calls only); default none. */
  readonly hedging?: HedgingOptions | false;
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
  /** The call is idempotent: hedge it when the policy has hedging. */
  readonly hedge?: boolean;
}

export interface DependencyPolicy {
  readonly name: string;
  readonly circuitState: CircuitState;
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead | undefined;
  readonly retryBudget: RetryBudget | undefined;
  readonly concurrencyLimiter: ConcurrencyLimiter | undefined;
  readonly hedging: Hedging | undefined;
  /**
   * Runs `fn` through fallback → bulkhead → concurrency limit → circuit breaker (once per call) → retry →
   * hedging → timeout. Each attempt gets its own `ctx.signal`, aborted when that attempt times out, loses
   * to a hedge, or the caller aborts; retries and hedges ask for a fresh connection (`ctx.freshConnection`).
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
  return new Policy(name, options, deps);
}

type Attempted<T> = (ctx: AttemptContext) => Promise<T>;

interface CallContext {
  readonly signal: AbortSignal | undefined;
  readonly deadlineAt: number;
  readonly record: CallRecord;
}

class Policy implements DependencyPolicy {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead | undefined;
  readonly retryBudget: RetryBudget | undefined;
  readonly concurrencyLimiter: ConcurrencyLimiter | undefined;
  readonly hedging: Hedging | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #deadlineMs: number;
  readonly #metrics: DependencyMetrics;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #fallbackWhen: (error: unknown) => boolean;
  readonly #retry: RetryPolicy | undefined;
  readonly #timeouts: TimeoutQueue;
  /** An attempt that started with less time than this cannot prove the dependency failed (see CallRecord). */
  readonly #conclusiveMs: number;
  #disposed = false;

  constructor(name: string, options: DependencyPolicyOptions, deps: DependencyPolicyDeps) {
    const clock = deps.clock ?? systemClock;
    this.name = name;
    this.#clock = clock;
    this.#logger = deps.logger;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#deadlineMs = options.deadlineMs ?? 10_000;
    if (!(this.#timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${this.#timeoutMs}`);
    if (!(this.#deadlineMs > 0)) throw new RangeError(`deadlineMs must be > 0, got ${this.#deadlineMs}`);
    this.#conclusiveMs = Math.min(this.#timeoutMs, this.#deadlineMs) / 2;
    this.#metrics = dependencyMetrics(deps.registry, name);
    this.#isFailure = options.circuitBreaker?.isFailure ?? countsAsFailure;
    this.#fallbackWhen = options.fallbackWhen ?? shouldFallBack;
    this.breaker = new CircuitBreaker(name, options.circuitBreaker ?? {}, { ...deps, clock });
    this.bulkhead =
      options.bulkhead === false
        ? undefined
        : createBulkhead(name, options.bulkhead, { logger: deps.logger, clock });
    this.concurrencyLimiter = options.concurrencyLimit
      ? createConcurrencyLimiter(name, options.concurrencyLimit, { ...deps, clock })
      : undefined;
    this.hedging = options.hedging ? createHedging(name, options.hedging, { ...deps, clock }) : undefined;
    this.retryBudget = retryBudgetOf(name, options, clock, deps.logger);
    this.#retry = retryPolicyOf(name, options, { ...deps, clock }, this.retryBudget);
    this.#timeouts = createTimeoutQueue(clock);
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  async execute<T>(fn: Attempted<T>, opts?: ExecuteOptions<T>): Promise<T> {
    if (this.#disposed) throw new PolicyDisposedError(this.name);
    const started = this.#clock.now();
    const signal = opts?.signal;
    const call: CallContext = { signal, deadlineAt: started + this.#deadlineMs, record: new CallRecord() };
    try {
      const guarded = (): Promise<T> => this.#limited(() => this.#guarded(fn, opts, call), call);
      const value = await (this.bulkhead === undefined ? guarded() : this.bulkhead.execute(guarded, signal));
      this.#metrics.call('success', (this.#clock.now() - started) / 1000);
      return value;
    } catch (error) {
      const seconds = (this.#clock.now() - started) / 1000;
      // Cancelled by the caller: neither a success nor a failure of the dependency.
      if (signal?.aborted) throw error;
      if (opts?.fallback !== undefined && this.#fallbackWhen(error)) {
        this.#metrics.call('fallback', seconds);
        this.#logger.debug({ dependency: this.name, err: error }, 'fallback used');
        return opts.fallback(error);
      }
      this.#metrics.call(outcomeOf(error, this.#isFailure), seconds);
      throw error;
    }
  }

  /**
   * Waits for the adaptive concurrency limit (bounded by the deadline), then runs the call under it. The
   * limit learns from the answering attempt's round trip (CallRecord.answeredInMs), not the call's
   * duration: hedge delays and attempts lost to a frozen replica are not the dependency queueing up.
   */
  async #limited<T>(run: () => Promise<T>, call: CallContext): Promise<T> {
    const limiter = this.concurrencyLimiter;
    if (limiter === undefined) return run();
    const permit = await limiter.acquire({
      signal: call.signal,
      timeoutMs: Math.max(0, call.deadlineAt - this.#clock.now()),
      onTimeout: () => new TimeoutError(this.name, this.#deadlineMs, 'deadline'),
    });
    try {
      const value = await run();
      permit.release(call.record.answeredInMs);
      return value;
    } catch (error) {
      permit.release();
      throw error;
    }
  }

  /** One breaker permit for the whole call; the breaker hears the call's verdict (see CallRecord). */
  async #guarded<T>(fn: Attempted<T>, opts: ExecuteOptions<T> | undefined, call: CallContext): Promise<T> {
    const permit = this.breaker.acquire();
    const started = this.#clock.now();
    const elapsed = (): number => (this.breaker.measuresDuration ? this.#clock.now() - started : 0);
    try {
      const value = await this.#retried(fn, opts, call);
      this.breaker.onSuccess(permit, elapsed());
      return value;
    } catch (error) {
      const conclusive = call.record.conclusive;
      if (call.signal?.aborted || conclusive === undefined) this.breaker.release(permit);
      else this.breaker.onError(permit, conclusive.error, elapsed());
      throw error;
    }
  }

  /**
   * A hedge takes a free slot of the concurrency limit without waiting: none while our own calls queue for
   * the limit. Slots held by calls stalled on one frozen replica do not stop it: those are the calls that
   * need a hedge.
   */
  readonly #hedgeAdmission = (): (() => void) | undefined => {
    const limiter = this.concurrencyLimiter;
    if (limiter === undefined) return () => undefined;
    const permit = limiter.tryAcquire();
    return permit === undefined ? undefined : () => permit.release();
  };

  #retried<T>(fn: Attempted<T>, opts: ExecuteOptions<T> | undefined, call: CallContext): Promise<T> {
    const hedging = opts?.hedge === true ? this.hedging : undefined;
    const once = (retryNo: number): Promise<T> =>
      hedging === undefined
        ? this.#attempt(fn, call, call.signal, retryNo > 1, false)
        : hedging.execute((hedge, signal) => this.#attempt(fn, call, signal, retryNo > 1 || hedge, hedge), {
            signal: call.signal,
            admit: this.#hedgeAdmission,
          });
    if (this.#retry === undefined) return once(1);
    const breaker = this.breaker;
    return this.#retry.execute(once, {
      signal: call.signal,
      deadlineAt: call.deadlineAt,
      retryOn: opts?.retryOn,
      circuitOpen: () => breaker.state === 'open' || breaker.state === 'isolated',
    });
  }

  #attempt<T>(
    fn: Attempted<T>,
    call: CallContext,
    signal: AbortSignal | undefined,
    freshConnection: boolean,
    hedge: boolean,
  ): Promise<T> {
    const started = this.#clock.now();
    const left = call.deadlineAt - started;
    if (left <= 0) return Promise.reject(new TimeoutError(this.name, this.#deadlineMs, 'deadline'));
    const byDeadline = left < this.#timeoutMs;
    return runAttempt(fn, {
      dependency: this.name,
      attempt: call.record.nextAttempt(),
      freshConnection,
      hedge,
      timeoutMs: byDeadline ? left : this.#timeoutMs,
      scope: byDeadline ? 'deadline' : 'attempt',
      reportedTimeoutMs: byDeadline ? this.#deadlineMs : this.#timeoutMs,
      signal,
      clock: this.#clock,
      timeouts: this.#timeouts,
    }).then(
      (value) => {
        const ms = this.#clock.now() - started;
        this.hedging?.recordLatency(ms);
        call.record.answered(ms);
        return value;
      },
      (error: unknown) => {
        if (!signal?.aborted) call.record.failed(error, left < this.#conclusiveMs);
        throw error;
      },
    );
  }

  onCircuitStateChange(listener: (change: CircuitStateChange) => void): Disposable {
    return this.breaker.onStateChange(listener);
  }

  healthCheck(): HealthCheck {
    return this.breaker.healthCheck();
  }

  isolate(): void {
    this.breaker.isolate();
  }

  reset(): void {
    this.breaker.reset();
  }

  dispose(): void {
    this.#disposed = true;
    this.breaker.dispose();
    this.#timeouts.dispose();
  }
}

function retryBudgetOf(
  name: string,
  options: DependencyPolicyOptions,
  clock: Clock,
  logger: Logger,
): RetryBudget | undefined {
  if (options.retry === false || options.retryBudget === false) return undefined;
  if (isRetryBudget(options.retryBudget)) return options.retryBudget;
  return createRetryBudget(name, options.retryBudget, { clock, logger });
}

function retryPolicyOf(
  name: string,
  options: DependencyPolicyOptions,
  deps: DependencyPolicyDeps & { readonly clock: Clock },
  budget: RetryBudget | undefined,
): RetryPolicy | undefined {
  if (options.retry === false || options.retry?.maxAttempts === 1) return undefined;
  return createRetryPolicy(name, options.retry ?? {}, {
    registry: deps.registry,
    logger: deps.logger,
    clock: deps.clock,
    ...(deps.random === undefined ? {} : { random: deps.random }),
    ...(budget === undefined ? {} : { budget }),
  });
}

function isRetryBudget(value: RetryBudgetOptions | RetryBudget | undefined): value is RetryBudget {
  return typeof (value as RetryBudget | undefined)?.tryAcquireRetry === 'function';
}
