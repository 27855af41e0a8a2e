import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock/clock.ts';
import { AdmissionQueue } from '../concurrency/admission-queue.ts';
import { BulkheadFullError } from '../errors/errors.ts';

export interface BulkheadOptions {
  /** Calls running at once; default 32. */
  readonly maxConcurrent?: number;
  /** Calls waiting for a slot; default 64 (0 rejects as soon as every slot is busy). */
  readonly maxQueue?: number;
}

export interface Bulkhead {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /** Running calls. */
  readonly active: number;
  /** Waiting calls. */
  readonly queued: number;
  /**
   * Runs `fn` when a slot is free, first come first served; rejects with BulkheadFullError when slots and
   * queue are full, with the signal's reason (freeing the queue slot at once) when the caller aborts.
   */
  execute<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** A fixed concurrency limit with a FIFO queue (see concurrency/admission-queue.ts for why not cockatiel's). */
export function createBulkhead(
  dependency: string,
  options: BulkheadOptions = {},
  deps: { readonly logger?: Logger; readonly clock?: Clock } = {},
): Bulkhead {
  const maxConcurrent = options.maxConcurrent ?? 32;
  const maxQueue = options.maxQueue ?? 64;
  if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new RangeError(`maxConcurrent must be an integer >= 1, got ${maxConcurrent}`);
  }
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
  }
  const queue = new AdmissionQueue(() => maxConcurrent, maxQueue, deps.clock ?? systemClock);
  const onFull = (): Error => {
    deps.logger?.debug({ dependency, maxConcurrent, maxQueue }, 'bulkhead full, call rejected');
    return new BulkheadFullError(dependency, maxConcurrent, maxQueue);
  };
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } finally {
      queue.release();
    }
  };
  return {
    maxConcurrent,
    maxQueue,
    get active() {
      return queue.active;
    },
    get queued() {
      return queue.queued;
    },
    execute<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (queue.tryAcquire()) return run(fn);
      return queue.acquire({ signal, onFull }).then(() => run(fn));
    },
  };
}
