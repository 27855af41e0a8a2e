import { systemClock, type Clock } from '../clock/clock.ts';
import { TimeoutError, type TimeoutScope } from '../errors/errors.ts';
import { createTimeoutQueue, type TimeoutHandle, type TimeoutQueue } from './timeout-queue.ts';

// A lighter timeout step than cockatiel's TimeoutPolicy, which derives an AbortController and adds
// listeners on every call (most of the ~20 µs its wrap of five policies costs): here one timer per
// attempt, and the AbortController exists only when the callee reads ctx.signal.

/** What the function under a policy receives: its own signal per attempt (never one shared by all calls). */
export interface AttemptContext {
  /** Aborted when this attempt times out or the caller's signal aborts. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, then 2, 3, ... for each retry or hedge of the call. */
  readonly attempt: number;
  /**
   * True for retries and hedges: the callee should open a new connection rather than reuse a pooled
   * keep-alive one, so a Service or front proxy that balances per connection routes it anew (away from
   * a replica that stopped answering on the old one).
   */
  readonly freshConnection: boolean;
  /** True when this attempt is a hedge sent while an earlier attempt of the call still runs. */
  readonly hedge: boolean;
}

class LazyAttemptContext implements AttemptContext {
  readonly attempt: number;
  readonly freshConnection: boolean;
  readonly hedge: boolean;
  #controller: AbortController | undefined = undefined;
  #aborted = false;
  #reason: unknown = undefined;

  constructor(attempt: number, freshConnection: boolean, hedge: boolean) {
    this.attempt = attempt;
    this.freshConnection = freshConnection;
    this.hedge = hedge;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

export interface AttemptOptions {
  readonly dependency: string;
  readonly attempt: number;
  /** See AttemptContext; default false. */
  readonly freshConnection?: boolean;
  readonly hedge?: boolean;
  /** Infinity for none. */
  readonly timeoutMs: number;
  /** Which timeout `timeoutMs` is (an attempt's own, or what is left of the call's deadline). */
  readonly scope: TimeoutScope;
  /** The figure the TimeoutError reports, when not `timeoutMs` (the whole deadline rather than what was left of it). */
  readonly reportedTimeoutMs?: number;
  /** The caller's signal: aborting it aborts the attempt and rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  readonly clock: Clock;
  /** Shared deadline list of the policy; without it the attempt sets a clock timer of its own. */
  readonly timeouts?: TimeoutQueue;
}

/**
 * Runs one attempt of `fn` with its own signal. On timeout the signal aborts (cooperative cancellation)
 * and the promise rejects with TimeoutError at once, so a callee that ignores the signal cannot hold the caller.
 */
export function runAttempt<T>(fn: (ctx: AttemptContext) => Promise<T>, options: AttemptOptions): Promise<T> {
  const callerSignal = options.signal;
  if (callerSignal?.aborted) return Promise.reject(callerSignal.reason);
  return new Promise<T>((resolve, reject) => {
    const ctx = new LazyAttemptContext(
      options.attempt,
      options.freshConnection ?? false,
      options.hedge ?? false,
    );
    const clock = options.clock;
    let settled = false;
    let timer: TimeoutHandle | undefined = undefined;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      timer?.cancel();
      ctx.abort(callerSignal!.reason);
      reject(callerSignal!.reason);
    };
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      timer?.cancel();
      callerSignal?.removeEventListener('abort', onAbort);
      return true;
    };
    if (options.timeoutMs !== Infinity) {
      const onTimeout = (): void => {
        timer = undefined;
        if (!finish()) return;
        const error = new TimeoutError(
          options.dependency,
          options.reportedTimeoutMs ?? options.timeoutMs,
          options.scope,
        );
        ctx.abort(error);
        reject(error);
      };
      if (options.timeouts !== undefined) {
        timer = options.timeouts.schedule(options.timeoutMs, onTimeout);
      } else {
        const handle = clock.setTimeout(onTimeout, options.timeoutMs);
        timer = { cancel: () => clock.clearTimeout(handle) };
      }
    }
    callerSignal?.addEventListener('abort', onAbort, { once: true });
    let promise: Promise<T>;
    try {
      promise = fn(ctx);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (error: unknown) => {
        if (finish()) reject(error);
      },
    );
  });
}

export interface TimeoutPolicyOptions {
  readonly timeoutMs: number;
}

export interface TimeoutPolicy {
  execute<T>(fn: (ctx: AttemptContext) => Promise<T>, opts?: { readonly signal?: AbortSignal }): Promise<T>;
}

/** The timeout step alone: each call gets its own signal, aborted after `timeoutMs`. */
export function createTimeoutPolicy(
  dependency: string,
  options: TimeoutPolicyOptions,
  deps: { readonly clock?: Clock } = {},
): TimeoutPolicy {
  if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
  const clock = deps.clock ?? systemClock;
  const timeouts = createTimeoutQueue(clock);
  return {
    execute: (fn, opts) =>
      runAttempt(fn, {
        dependency,
        attempt: 1,
        timeoutMs: options.timeoutMs,
        scope: 'attempt',
        signal: opts?.signal,
        clock,
        timeouts,
      }),
  };
}
