import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock/clock.ts';
import { isRetryable } from '../errors/errors.ts';
import { hedgeMetrics, type HedgeOutcome } from '../metrics/metrics.ts';
import { createRetryBudget, type RetryBudget } from '../retry/retry-budget.ts';
import { LatencyTracker } from './latency-tracker.ts';

// Hedged requests ("The Tail at Scale", Dean and Barroso; Polly v8's hedging strategy): when an idempotent
// call has not answered after a high percentile of recent latency, a second attempt is sent on a fresh
// connection while the first keeps running; the first success wins and the others are aborted. One frozen
// replica among N then costs a hedge delay, not a timeout, and no client needs to know replica addresses:
// the Service routes the fresh connection anew.

export interface HedgingOptions {
  /** Hedges sent in addition to the first attempt, one per delay; default 1. */
  readonly maxHedgedAttempts?: number;
  /** A fixed hedge delay; when absent the delay is `percentile` of recent latency within [minDelayMs, maxDelayMs]. */
  readonly delayMs?: number;
  /** Default 95. */
  readonly percentile?: number;
  /** Default 20 ms. */
  readonly minDelayMs?: number;
  /** Default 500 ms; also the delay until 20 latencies are known. */
  readonly maxDelayMs?: number;
  /** Hedges allowed as a percentage of hedged calls over 10 s; default 50 (bounds the extra load). */
  readonly budgetPercent?: number;
  /** Hedges always allowed per second; default 5. */
  readonly minHedgesPerSecond?: number;
}

export interface HedgingDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** Starts one attempt: `hedge` is false for the first; the signal aborts it (it lost, or the caller left). */
export type HedgeStarter<T> = (hedge: boolean, signal: AbortSignal) => Promise<T>;

/**
 * Spare capacity for a hedge: a release function when a hedge may go out now, undefined when not (the
 * dependency policy takes a slot of its concurrency limit without waiting, so a burst that already queues
 * for the limit sends no hedges, which would only add load where latency is high for everyone).
 */
export type HedgeAdmission = () => (() => void) | undefined;

export interface HedgeExecuteOptions {
  readonly signal?: AbortSignal | undefined;
  readonly admit?: HedgeAdmission | undefined;
}

export interface Hedging {
  /** The delay the next hedged call will wait before its first hedge. */
  readonly delayMs: number;
  /** Feeds the latency of a successful attempt. */
  recordLatency(ms: number): void;
  /**
   * Runs `start(false)` and, while it runs, a hedge `start(true)` per delay. The first success wins; a
   * definitive answer (an error not marked retryable, such as a 409) also ends the call at once; a
   * retryable failure waits for the attempts still running.
   */
  execute<T>(start: HedgeStarter<T>, options?: HedgeExecuteOptions): Promise<T>;
}

const MIN_SAMPLES = 20;

export function createHedging(dependency: string, options: HedgingOptions, deps: HedgingDeps): Hedging {
  const clock = deps.clock ?? systemClock;
  const maxHedges = options.maxHedgedAttempts ?? 1;
  const minDelayMs = options.minDelayMs ?? 20;
  const maxDelayMs = options.maxDelayMs ?? 500;
  if (!Number.isSafeInteger(maxHedges) || maxHedges < 1) {
    throw new RangeError(`maxHedgedAttempts must be an integer >= 1, got ${maxHedges}`);
  }
  if (!(minDelayMs >= 0 && maxDelayMs >= minDelayMs)) {
    throw new RangeError(`need 0 <= minDelayMs <= maxDelayMs, got ${minDelayMs}, ${maxDelayMs}`);
  }
  if (options.delayMs !== undefined && !(options.delayMs >= 0)) {
    throw new RangeError(`delayMs must be >= 0, got ${options.delayMs}`);
  }
  const latencies = new LatencyTracker(options.percentile ?? 95);
  const budget = createRetryBudget(
    dependency,
    {
      budgetPercent: options.budgetPercent ?? 50,
      minRetriesPerSecond: options.minHedgesPerSecond ?? 5,
    },
    { clock },
  );
  const count = hedgeMetrics(deps.registry, dependency);
  const delay = (): number => {
    if (options.delayMs !== undefined) return options.delayMs;
    if (latencies.count < MIN_SAMPLES) return maxDelayMs;
    return Math.min(maxDelayMs, Math.max(minDelayMs, Math.ceil(latencies.value())));
  };
  const settings: CallSettings = { clock, maxHedges, delay, budget, count, logger: deps.logger, dependency };
  return {
    get delayMs() {
      return delay();
    },
    recordLatency: (ms) => latencies.record(ms),
    execute<T>(start: HedgeStarter<T>, options?: HedgeExecuteOptions): Promise<T> {
      const signal = options?.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
      budget.recordRequest();
      return new HedgedCall(settings, start, signal, options?.admit).promise;
    },
  };
}

interface CallSettings {
  readonly clock: Clock;
  readonly maxHedges: number;
  readonly delay: () => number;
  readonly budget: RetryBudget;
  readonly count: (outcome: HedgeOutcome) => void;
  readonly logger: Logger;
  readonly dependency: string;
}

interface Running {
  readonly controller: AbortController;
  readonly hedge: boolean;
}

/** One hedged call: attempts in flight, the hedge timer, and who won. */
class HedgedCall<T> {
  readonly promise: Promise<T>;
  readonly #settings: CallSettings;
  readonly #start: HedgeStarter<T>;
  readonly #signal: AbortSignal | undefined;
  readonly #admit: HedgeAdmission | undefined;
  readonly #running = new Set<Running>();
  #resolve!: (value: T) => void;
  #reject!: (error: unknown) => void;
  #hedgesSent = 0;
  #timer: unknown = undefined;
  #done = false;
  readonly #onAbort = (): void => this.#finish(() => this.#reject(this.#signal!.reason), undefined);

  constructor(
    settings: CallSettings,
    start: HedgeStarter<T>,
    signal: AbortSignal | undefined,
    admit: HedgeAdmission | undefined,
  ) {
    this.#settings = settings;
    this.#start = start;
    this.#signal = signal;
    this.#admit = admit;
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#launch(false);
    this.#arm();
  }

  #arm(): void {
    if (this.#done || this.#hedgesSent >= this.#settings.maxHedges) return;
    this.#timer = this.#settings.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#done) return;
      this.#hedgesSent++;
      const release = this.#admit?.();
      if (this.#admit !== undefined && release === undefined) {
        this.#settings.count('skipped');
        return this.#arm();
      }
      if (!this.#settings.budget.tryAcquireRetry()) {
        release?.();
        this.#settings.count('skipped');
        return;
      }
      this.#settings.logger.debug({ dependency: this.#settings.dependency }, 'hedging call');
      this.#launch(true, release);
      this.#arm();
    }, this.#settings.delay());
  }

  #launch(hedge: boolean, release?: () => void): void {
    const attempt: Running = { controller: new AbortController(), hedge };
    this.#running.add(attempt);
    let promise: Promise<T>;
    try {
      promise = this.#start(hedge, attempt.controller.signal);
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (release !== undefined) promise.then(release, release);
    promise.then(
      (value) => {
        this.#running.delete(attempt);
        if (hedge && !this.#done) this.#settings.count('won');
        this.#finish(() => this.#resolve(value), attempt);
      },
      (error: unknown) => {
        this.#running.delete(attempt);
        if (this.#done) return;
        if (hedge) this.#settings.count('failed');
        // A definitive answer (a 409, say) ends the call; after a retryable failure another attempt may
        // still answer, and only the last one standing decides the call.
        if (this.#running.size === 0 || !isRetryable(error)) this.#finish(() => this.#reject(error), attempt);
      },
    );
  }

  #finish(settle: () => void, winner: Running | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) this.#settings.clock.clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const loser of this.#running) {
      if (loser === winner) continue;
      if (loser.hedge && winner !== undefined) this.#settings.count('lost');
      loser.controller.abort(new Error(`${this.#settings.dependency}: another attempt answered first`));
    }
    this.#running.clear();
    settle();
  }
}
