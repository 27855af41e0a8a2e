/** CrashLoopBackOff: how long a crashing replica waits before it is replaced. */
export interface BackoffPolicy {
  /** Delay before the second restart in a row (the first is at once). */
  readonly initialMs: number;
  readonly maxMs: number;
  /** A replica that ran this long without crashing resets the count. */
  readonly resetAfterMs: number;
}

export const kubeletBackoff: BackoffPolicy = { initialMs: 1_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** Crashes in a row after one more crash of a replica that ran for `ranMs`. */
export function nextCrashCount(previous: number, ranMs: number, policy: BackoffPolicy): number {
  return ranMs >= policy.resetAfterMs ? 1 : previous + 1;
}

/** The wait before replacing after the `crashes`-th crash in a row: 0, then initial, doubling up to max. */
export function restartDelay(crashes: number, policy: BackoffPolicy): number {
  if (crashes <= 1) return 0;
  return Math.min(policy.initialMs * 2 ** Math.min(crashes - 2, 30), policy.maxMs);
}
