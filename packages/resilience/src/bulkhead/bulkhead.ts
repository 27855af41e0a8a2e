import { BulkheadPolicy } from 'cockatiel';
import type { Logger } from 'pino';
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
  /** Runs `fn` when a slot is free; rejects with BulkheadFullError when slots and queue are full. */
  execute<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** cockatiel's bulkhead, with the platform's error and a queued call that leaves as soon as its caller aborts. */
export function createBulkhead(
  dependency: string,
  options: BulkheadOptions = {},
  deps: { readonly logger?: Logger } = {},
): Bulkhead {
  const maxConcurrent = options.maxConcurrent ?? 32;
  const maxQueue = options.maxQueue ?? 64;
  if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new RangeError(`maxConcurrent must be an integer >= 1, got ${maxConcurrent}`);
  }
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
  }
  const policy = new BulkheadPolicy(maxConcurrent, maxQueue);
  return {
    maxConcurrent,
    maxQueue,
    get active() {
      return maxConcurrent - policy.executionSlots;
    },
    get queued() {
      return maxQueue - policy.queueSlots;
    },
    execute<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (policy.executionSlots > 0) return policy.execute(fn, signal);
      if (policy.queueSlots <= 0) {
        deps.logger?.debug({ dependency, maxConcurrent, maxQueue }, 'bulkhead full, call rejected');
        return Promise.reject(new BulkheadFullError(dependency, maxConcurrent, maxQueue));
      }
      if (signal === undefined) return policy.execute(fn);
      // cockatiel drops an aborted call only when it reaches the head of the queue; leave now instead.
      return new Promise<T>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        policy.execute(fn, signal).then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      });
    },
  };
}
