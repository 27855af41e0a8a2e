import { describe, expect, it } from '@jest/globals';
import { kubeletBackoff, nextCrashCount, restartDelay } from '../src/supervision/backoff.ts';

describe('CrashLoopBackOff', () => {
  it('replaces at once after a first crash, then waits 1 s doubling up to 5 min', () => {
    const delays = Array.from({ length: 12 }, (_, i) => restartDelay(i + 1, kubeletBackoff));
    expect(delays).toEqual([
      0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000,
    ]);
  });

  it('resets the count once a replica ran 10 minutes', () => {
    expect(nextCrashCount(5, 30_000, kubeletBackoff)).toBe(6);
    expect(nextCrashCount(5, 600_000, kubeletBackoff)).toBe(1);
    expect(restartDelay(nextCrashCount(9, 700_000, kubeletBackoff), kubeletBackoff)).toBe(0);
  });

  it('never overflows for very long crash loops', () => {
    expect(restartDelay(10_000, kubeletBackoff)).toBe(300_000);
  });
});
