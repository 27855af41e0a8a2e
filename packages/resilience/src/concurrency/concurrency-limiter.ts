import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock/clock.ts';
import { ConcurrencyLimitError } from '../errors/errors.ts';
import { registerConcurrencyMetrics } from '../metrics/metrics.ts';
import { AdmissionQueue } from './admission-queue.ts';
import { GradientLimit, type GradientLimitOptions } from './gradient-limit.ts';

export interface ConcurrencyLimitOptions extends GradientLimitOptions {
  /** Calls that may wait for the limit; default 1000. Beyond it calls are rejected (ConcurrencyLimitError). */
  readonly maxQueue?: number;
}

export interface ConcurrencyLimiterDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** A slot under the limit; `release(rttMs)` feeds the call's round-trip time back, `release()` only frees it. */
export interface LimitPermit {
  release(rttMs?: number): void;
}

export interface ConcurrencyLimiter {
  readonly limit: number;
  readonly inflight: number;
  readonly queued: number;
  /**
   * Waits (first come, first served) until the call may start. Rejects with ConcurrencyLimitError when the
   * queue is full, `onTimeout()` after `timeoutMs`, the signal's reason when the caller aborts.
   */
  /**
   * A slot now, or undefined when none is free or others wait (never queues). Optional work (a hedge)
   * takes its slot this way: while our own calls queue for the limit, a duplicate would only take a
   * slot from one of them.
   */
  tryAcquire(): LimitPermit | undefined;
  acquire(wait: {
    readonly signal?: AbortSignal | undefined;
    readonly timeoutMs: number;
    readonly onTimeout: () => Error;
  }): Promise<LimitPermit>;
}

/**
 * An adaptive concurrency limit per dependency (Netflix concurrency-limits, Envoy's adaptive concurrency
 * filter): a burst of our own waits here instead of queueing at the dependency until attempts time out and
 * trip the breaker. Being limited is not a failure of the dependency: the breaker never sees it.
 */
export function createConcurrencyLimiter(
  dependency: string,
  options: ConcurrencyLimitOptions,
  deps: ConcurrencyLimiterDeps,
): ConcurrencyLimiter {
  const algorithm = new GradientLimit(options);
  const maxQueue = options.maxQueue ?? 1000;
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
  }
  const queue = new AdmissionQueue(() => algorithm.limit, maxQueue, deps.clock ?? systemClock);
  let lastLoggedLimit = algorithm.limit;
  const onFull = (): Error => {
    deps.logger.debug(
      { dependency, limit: algorithm.limit, maxQueue },
      'concurrency limit reached, call rejected',
    );
    return new ConcurrencyLimitError(dependency, algorithm.limit, maxQueue);
  };
  const permit = (): LimitPermit => {
    let released = false;
    return {
      release(rttMs) {
        if (released) return;
        released = true;
        if (rttMs !== undefined) algorithm.update(rttMs, queue.active);
        queue.release();
        const limit = algorithm.limit;
        // Log moves of a quarter or more, not every step.
        if (Math.abs(limit - lastLoggedLimit) * 4 >= lastLoggedLimit) {
          deps.logger.info({ dependency, from: lastLoggedLimit, to: limit }, 'concurrency limit changed');
          lastLoggedLimit = limit;
        }
      },
    };
  };
  registerConcurrencyMetrics(deps.registry, dependency, () => ({
    limit: algorithm.limit,
    inflight: queue.active,
    queued: queue.queued,
  }));
  return {
    get limit() {
      return algorithm.limit;
    },
    get inflight() {
      return queue.active;
    },
    get queued() {
      return queue.queued;
    },
    tryAcquire: () => (queue.tryAcquire() ? permit() : undefined),
    acquire(wait) {
      if (queue.tryAcquire()) return Promise.resolve(permit());
      return queue.acquire({ ...wait, onFull }).then(permit);
    },
  };
}
