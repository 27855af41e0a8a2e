// Failure detectors of the closed circuit: each records call outcomes and says when the circuit should open.
// Written here rather than taken from cockatiel because they also track slow calls (resilience4j's
// slow-call rate), take the injected clock, and count a minimum number of calls rather than a minimum rate.

export type FailureDetectorOptions =
  /** Opens after `failures` failed (or slow) calls in a row. */
  | { readonly kind: 'consecutive'; readonly failures: number }
  /** Opens when, over the last `size` calls, the failure or slow-call rate reaches its threshold. */
  | {
      readonly kind: 'count';
      readonly size: number;
      readonly failureRatePercent: number;
      readonly minimumCalls?: number;
    }
  /** Opens when, over the last `windowMs`, the failure or slow-call rate reaches its threshold. */
  | {
      readonly kind: 'time';
      readonly windowMs: number;
      readonly failureRatePercent: number;
      readonly minimumCalls?: number;
      readonly buckets?: number;
    };

export interface OutcomeWindow {
  /** Records one finished call; returns true when the circuit should open. */
  record(failed: boolean, slow: boolean): boolean;
  reset(): void;
}

export function createOutcomeWindow(
  options: FailureDetectorOptions,
  slowCallRatePercent: number | undefined,
  now: () => number,
): OutcomeWindow {
  switch (options.kind) {
    case 'consecutive':
      requireInteger('failures', options.failures, 1);
      return consecutiveWindow(options.failures);
    case 'count':
      requireInteger('size', options.size, 1);
      return countWindow(
        options.size,
        rateLimits(
          options.failureRatePercent,
          slowCallRatePercent,
          options.minimumCalls ?? options.size,
          options.size,
        ),
      );
    case 'time': {
      requireInteger('windowMs', options.windowMs, 1);
      const buckets = options.buckets ?? 10;
      requireInteger('buckets', buckets, 1);
      return timeWindow(
        now,
        options.windowMs,
        buckets,
        rateLimits(options.failureRatePercent, slowCallRatePercent, options.minimumCalls ?? 10, Infinity),
      );
    }
  }
}

interface RateLimits {
  /** Percentages as given: compared as `count * 100 >= percent * total`, exact for the integers people write. */
  readonly failurePercent: number;
  readonly slowPercent: number;
  readonly minimumCalls: number;
}

function rateLimits(
  failureRatePercent: number,
  slowRatePercent: number | undefined,
  minimumCalls: number,
  maxMinimum: number,
): RateLimits {
  requirePercent('failureRatePercent', failureRatePercent);
  if (slowRatePercent !== undefined) requirePercent('slowCall.ratePercent', slowRatePercent);
  requireInteger('minimumCalls', minimumCalls, 1);
  if (minimumCalls > maxMinimum) throw new RangeError(`minimumCalls must be at most ${maxMinimum}`);
  return {
    failurePercent: failureRatePercent,
    slowPercent: slowRatePercent ?? Infinity,
    minimumCalls,
  };
}

// A rate reached exactly opens the circuit. `failures >= (percent / 100) * total` misses it: 7 / 100 is
// 0.07000000000000001 in binary, so 7 failures in 100 calls at 7 % stayed closed. Scaling the count
// instead keeps both sides integers.
function exceeds(limits: RateLimits, total: number, failures: number, slow: number): boolean {
  return (
    total >= limits.minimumCalls &&
    (failures * 100 >= limits.failurePercent * total || slow * 100 >= limits.slowPercent * total)
  );
}

function consecutiveWindow(threshold: number): OutcomeWindow {
  let run = 0;
  return {
    record(failed, slow) {
      if (!failed && !slow) {
        run = 0;
        return false;
      }
      return ++run >= threshold;
    },
    reset() {
      run = 0;
    },
  };
}

const EMPTY = 0;
const FAILED = 1;
const SLOW = 2;
const SUCCEEDED = 4;

function countWindow(size: number, limits: RateLimits): OutcomeWindow {
  const samples = new Uint8Array(size);
  let next = 0;
  let total = 0;
  let failures = 0;
  let slowCalls = 0;
  return {
    record(failed, slow) {
      const old = samples[next]!;
      if (old !== EMPTY) {
        total--;
        if (old & FAILED) failures--;
        if (old & SLOW) slowCalls--;
      }
      samples[next] = (failed ? FAILED : SUCCEEDED) | (slow ? SLOW : 0);
      next = (next + 1) % size;
      total++;
      if (failed) failures++;
      if (slow) slowCalls++;
      return exceeds(limits, total, failures, slowCalls);
    },
    reset() {
      samples.fill(EMPTY);
      next = total = failures = slowCalls = 0;
    },
  };
}

function timeWindow(
  now: () => number,
  windowMs: number,
  bucketCount: number,
  limits: RateLimits,
): OutcomeWindow {
  const bucketMs = windowMs / bucketCount;
  // Each bucket remembers which period it holds, so a bucket left from an earlier lap counts as empty.
  const period = new Float64Array(bucketCount).fill(-1);
  const totals = new Uint32Array(bucketCount);
  const failed = new Uint32Array(bucketCount);
  const slowed = new Uint32Array(bucketCount);
  return {
    record(isFailure, isSlow) {
      const current = Math.floor(now() / bucketMs);
      const slot = current % bucketCount;
      if (period[slot] !== current) {
        period[slot] = current;
        totals[slot] = failed[slot] = slowed[slot] = 0;
      }
      totals[slot]!++;
      if (isFailure) failed[slot]!++;
      if (isSlow) slowed[slot]!++;
      let total = 0;
      let failures = 0;
      let slowCalls = 0;
      for (let i = 0; i < bucketCount; i++) {
        if (period[i]! > current - bucketCount) {
          total += totals[i]!;
          failures += failed[i]!;
          slowCalls += slowed[i]!;
        }
      }
      return exceeds(limits, total, failures, slowCalls);
    },
    reset() {
      period.fill(-1);
    },
  };
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }
}

function requirePercent(name: string, value: number): void {
  if (!(value > 0 && value <= 100)) throw new RangeError(`${name} must be in (0, 100], got ${value}`);
}
