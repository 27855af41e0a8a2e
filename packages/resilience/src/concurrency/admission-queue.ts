import type { Clock } from '../clock/clock.ts';

// The FIFO waiting room shared by the bulkhead (a fixed limit) and the adaptive concurrency limiter (a
// limit that moves). Written here rather than taken from cockatiel's BulkheadPolicy because that one keeps
// the queue slot of a waiter whose caller aborted until the waiter reaches the head of the queue (later
// callers are rejected while nothing waits), and a slot freed by a finishing call can go to a caller that
// arrives before the queued one is resumed (which is then rejected with cockatiel's own error). Here a
// freed slot is handed synchronously to the oldest waiter, and an aborted waiter leaves the queue at once.

export interface AdmissionWait {
  /** The caller's signal: aborting it removes the waiter and rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Longest wait for a slot (Infinity for none); then `onTimeout()` is the rejection. */
  readonly timeoutMs?: number;
  readonly onTimeout?: () => Error;
  /** The rejection when every slot is busy and the queue is full. */
  readonly onFull: () => Error;
}

interface Waiter {
  admit(): void;
}

export class AdmissionQueue {
  readonly #limit: () => number;
  readonly #maxQueue: number;
  readonly #clock: Clock;
  // A Set keeps insertion order and deletes in O(1): the first value is the oldest waiter.
  readonly #waiters = new Set<Waiter>();
  #active = 0;

  constructor(limit: () => number, maxQueue: number, clock: Clock) {
    this.#limit = limit;
    this.#maxQueue = maxQueue;
    this.#clock = clock;
  }

  /** Slots in use. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.#waiters.size;
  }

  /** Takes a slot when one is free and nobody is waiting before us. */
  tryAcquire(): boolean {
    if (this.#waiters.size > 0 || this.#active >= this.#limit()) return false;
    this.#active++;
    return true;
  }

  /** Resolves once a slot is this caller's (call release() after); rejects when full, aborted or timed out. */
  acquire(wait: AdmissionWait): Promise<void> {
    const { signal } = wait;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    if (this.#waiters.size >= this.#maxQueue) return Promise.reject(wait.onFull());
    return new Promise<void>((resolve, reject) => {
      let timer: unknown = undefined;
      const leave = (): void => {
        this.#waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) this.#clock.clearTimeout(timer);
      };
      const onAbort = (): void => {
        leave();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        admit: () => {
          leave();
          resolve();
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      const timeoutMs = wait.timeoutMs ?? Infinity;
      if (timeoutMs !== Infinity) {
        timer = this.#clock.setTimeout(() => {
          timer = undefined;
          leave();
          reject(wait.onTimeout?.() ?? new Error('admission timed out'));
        }, timeoutMs);
      }
    });
  }

  /** Gives a slot back: the oldest waiter gets it before any newcomer can. */
  release(): void {
    this.#active--;
    this.drain();
  }

  /** Admits waiters while slots are free (also called when the limit grows). */
  drain(): void {
    while (this.#waiters.size > 0 && this.#active < this.#limit()) {
      const oldest = this.#waiters.values().next().value!;
      this.#active++;
      oldest.admit();
    }
  }
}
