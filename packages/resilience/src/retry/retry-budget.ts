import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock/clock.ts';

// Retries across every caller of a dependency are capped at a share of its recent requests (as Envoy's
// and Finagle's retry budgets), so a failing dependency sees at most (1 + budgetPercent/100) times its
// normal load instead of maxAttempts times: no retry storm.

export interface RetryBudgetOptions {
  /** Retries allowed as a percentage of the requests in the window; default 20. */
  readonly budgetPercent?: number;
  /** Retries always allowed per second of window, so that low traffic can still retry; default 3. */
  readonly minRetriesPerSecond?: number;
  /** Sliding window; default 10000 ms (10 buckets). */
  readonly windowMs?: number;
}

export interface RetryBudget {
  /** Counts a first attempt (a new request). */
  recordRequest(): void;
  /** Takes one retry out of the budget; false when the budget is spent. */
  tryAcquireRetry(): boolean;
  /** Retries still allowed in the current window. */
  readonly available: number;
}

const BUCKETS = 10;

export function createRetryBudget(
  dependency: string,
  options: RetryBudgetOptions = {},
  deps: { readonly clock?: Clock; readonly logger?: Logger } = {},
): RetryBudget {
  const percent = options.budgetPercent ?? 20;
  const minPerSecond = options.minRetriesPerSecond ?? 3;
  const windowMs = options.windowMs ?? 10_000;
  if (!(percent >= 0)) throw new RangeError(`budgetPercent must be >= 0, got ${percent}`);
  if (!(minPerSecond >= 0)) throw new RangeError(`minRetriesPerSecond must be >= 0, got ${minPerSecond}`);
  if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
  const clock = deps.clock ?? systemClock;
  const floor = (minPerSecond * windowMs) / 1000;
  const bucketMs = windowMs / BUCKETS;
  const period = new Float64Array(BUCKETS).fill(-1);
  const requests = new Uint32Array(BUCKETS);
  const retries = new Uint32Array(BUCKETS);
  let lastExhaustedLog = -Infinity;

  const slot = (): number => {
    const current = Math.floor(clock.now() / bucketMs);
    const index = current % BUCKETS;
    if (period[index] !== current) {
      period[index] = current;
      requests[index] = retries[index] = 0;
    }
    return index;
  };
  const totals = (): { requests: number; retries: number } => {
    const current = Math.floor(clock.now() / bucketMs);
    let r = 0;
    let t = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (period[i]! > current - BUCKETS) {
        r += requests[i]!;
        t += retries[i]!;
      }
    }
    return { requests: r, retries: t };
  };
  const available = (): number => {
    const sum = totals();
    return Math.max(0, Math.floor(floor + (percent / 100) * sum.requests) - sum.retries);
  };

  return {
    recordRequest() {
      requests[slot()]!++;
    },
    tryAcquireRetry() {
      if (available() <= 0) {
        const now = clock.now();
        if (deps.logger && now - lastExhaustedLog >= windowMs) {
          lastExhaustedLog = now;
          deps.logger.warn({ dependency, budgetPercent: percent, windowMs }, 'retry budget exhausted');
        }
        return false;
      }
      retries[slot()]!++;
      return true;
    },
    get available() {
      return available();
    },
  };
}
