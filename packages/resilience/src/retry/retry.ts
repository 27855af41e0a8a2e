import { ExponentialBackoff, type GeneratorFn, type IBackoff } from 'cockatiel';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock/clock.ts';
import { isRetryable, RetriesExhaustedError, type RetryStopReason } from '../errors/errors.ts';
import { dependencyMetrics } from '../metrics/metrics.ts';
import type { RetryBudget } from './retry-budget.ts';

export interface RetryOptions {
  /** Attempts in all, the first included; default 3 (1 turns retries off). */
  readonly maxAttempts?: number;
  /** Scale of the first backoff delay; default 100 ms. */
  readonly initialDelayMs?: number;
  /** Upper bound of one backoff delay; default 5000 ms. */
  readonly maxDelayMs?: number;
  /** Growth factor of the backoff; default 2. */
  readonly exponent?: number;
  /** A Retry-After longer than this makes the policy give up instead of waiting; default 30000 ms. */
  readonly maxRetryAfterMs?: number;
  /** Which errors are retried; default those marked `retryable: true` (see isRetryable). */
  readonly retryOn?: (error: unknown) => boolean;
  /**
   * A retry starts only when at least this much of the call's deadline is left after its backoff;
   * default 0. An attempt with less time than the dependency needs can only time out.
   */
  readonly minAttemptMs?: number;
}

export interface RetryDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Uniform in [0, 1); drives the jitter. */
  readonly random?: () => number;
  /** Shared by every caller of the dependency; no budget when absent. */
  readonly budget?: RetryBudget;
}

export interface RetryExecuteOptions {
  readonly signal?: AbortSignal | undefined;
  /** Absolute time (clock ms) after which no retry starts. */
  readonly deadlineAt?: number | undefined;
  /** Overrides the policy's predicate for this call (the HTTP client narrows it for POST without a key). */
  readonly retryOn?: ((error: unknown) => boolean) | undefined;
  /** Asked before each retry; true stops with reason `circuit-open` (the dependency policy's breaker opened). */
  readonly circuitOpen?: (() => boolean) | undefined;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  execute<T>(fn: (attempt: number) => Promise<T>, opts?: RetryExecuteOptions): Promise<T>;
}

/**
 * Polly's decorrelated jitter (cockatiel's decorrelatedJitterGenerator) with the random source injected,
 * so tests can pin the delays.
 */
export function decorrelatedJitter(random: () => number): GeneratorFn<[number, number]> {
  return (state, options) => {
    const [attempt, previous] = state ?? [0, 0];
    const t = attempt + random();
    const next = Math.pow(options.exponent, t) * Math.tanh(Math.sqrt(4 * t));
    const intrinsic = Number.isFinite(next) ? Math.max(0, next - previous) : Infinity;
    return [Math.min((intrinsic / 1.4) * options.initialDelay, options.maxDelay), [attempt + 1, next]];
  };
}

export function createRetryPolicy(dependency: string, options: RetryOptions, deps: RetryDeps): RetryPolicy {
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const minAttemptMs = options.minAttemptMs ?? 0;
  if (!(minAttemptMs >= 0)) throw new RangeError(`minAttemptMs must be >= 0, got ${minAttemptMs}`);
  const defaultRetryOn = options.retryOn ?? isRetryable;
  const clock = deps.clock ?? systemClock;
  const budget = deps.budget;
  const metrics = dependencyMetrics(deps.registry, dependency);
  const logger = deps.logger;
  const backoffFactory = new ExponentialBackoff({
    generator: decorrelatedJitter(deps.random ?? Math.random),
    initialDelay: options.initialDelayMs ?? 100,
    maxDelay: options.maxDelayMs ?? 5000,
    exponent: options.exponent ?? 2,
  });

  const wait = (ms: number, signal: AbortSignal | undefined): Promise<void> => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clock.clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  };

  return {
    maxAttempts,
    async execute(fn, opts) {
      budget?.recordRequest();
      const signal = opts?.signal;
      const retryOn = opts?.retryOn ?? defaultRetryOn;
      let backoff: IBackoff<unknown> | undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(attempt);
        } catch (error) {
          if (signal?.aborted || maxAttempts === 1 || !retryOn(error)) throw error;
          const giveUp = (reason: RetryStopReason): RetriesExhaustedError => {
            logger.debug({ dependency, attempts: attempt, reason, err: error }, 'retries exhausted');
            return new RetriesExhaustedError(dependency, attempt, reason, error);
          };
          if (attempt >= maxAttempts) throw giveUp('max-attempts');
          backoff = backoff === undefined ? backoffFactory.next() : backoff.next(undefined);
          let delayMs = Math.round(backoff.duration);
          const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
          if (typeof retryAfterMs === 'number') {
            if (retryAfterMs > maxRetryAfterMs) throw giveUp('retry-after-too-long');
            delayMs = Math.max(delayMs, retryAfterMs);
          }
          if (opts?.deadlineAt !== undefined && opts.deadlineAt - (clock.now() + delayMs) <= minAttemptMs) {
            throw giveUp('deadline');
          }
          if (opts?.circuitOpen?.() === true) throw giveUp('circuit-open');
          if (budget !== undefined && !budget.tryAcquireRetry()) throw giveUp('budget');
          metrics.retry(attempt + 1, delayMs);
          logger.debug({ dependency, attempt: attempt + 1, delayMs, err: error }, 'retrying call');
          await wait(delayMs, signal);
          if (opts?.circuitOpen?.() === true) throw giveUp('circuit-open');
        }
      }
    },
  };
}
