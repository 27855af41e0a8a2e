import { TimeoutError } from '../errors/errors.ts';

/**
 * What the attempts of one call tell the circuit breaker. The breaker hears once per call, after retries
 * and hedges: a single replica's stall that a hedge or a retry on a fresh connection covered is a success
 * of the dependency. Only conclusive failures count: an attempt aborted because another one won (or the
 * caller left) says nothing, nor does the timeout of an attempt that started with less than half of its
 * normal time left of the call's deadline (the time went to our own queueing or backoff, not to a
 * dependency that failed to answer in its timeout).
 */
export class CallRecord {
  #attempts = 0;
  #conclusive: { readonly error: unknown } | undefined = undefined;
  #answeredInMs: number | undefined = undefined;

  /** Number of the next attempt of this call (1, 2, ...), hedges included. */
  nextAttempt(): number {
    return ++this.#attempts;
  }

  get attempts(): number {
    return this.#attempts;
  }

  /**
   * Records a failed attempt. `cutShort`: our own queueing and backoff left it less than half of its
   * normal time (the attempt timeout, or the whole deadline when that is shorter).
   */
  failed(error: unknown, cutShort: boolean): void {
    if (cutShort && error instanceof TimeoutError) return;
    this.#conclusive = { error };
  }

  /** Records the attempt that answered and how long that attempt took. */
  answered(ms: number): void {
    this.#answeredInMs = ms;
  }

  /**
   * How long the answering attempt took: the dependency's own round trip, without the hedge delays,
   * timed-out attempts and backoff before it. This, not the call's duration, is what the adaptive limit
   * reads: a call that waited 250 ms before its hedge answered in 5 ms says the dependency is fast.
   */
  get answeredInMs(): number | undefined {
    return this.#answeredInMs;
  }

  /** The last conclusive failure, if any attempt gave one. */
  get conclusive(): { readonly error: unknown } | undefined {
    return this.#conclusive;
  }
}
