import { describe, expect, it } from '@jest/globals';
import { summarizeMttr } from '../src/stats.ts';
import { createRandom } from '../src/random.ts';

describe('MTTR statistics', () => {
  it('summarizes min, nearest-rank p50 and p95, max and mean over the rounds', () => {
    expect(summarizeMttr([1000, 3000, 2000])).toEqual({
      count: 3,
      min: 1000,
      p50: 2000,
      // rank ceil(0.95 × 3) = 3: the slowest round.
      p95: 3000,
      max: 3000,
      mean: 2000,
    });
    expect(summarizeMttr([7])).toMatchObject({ min: 7, p50: 7, p95: 7, max: 7 });
    const twenty = Array.from({ length: 20 }, (_, i) => (i + 1) * 100);
    // rank ceil(0.95 × 20) = 19: 1900 ms, within the histogram's 0.1 %.
    expect(Math.abs(summarizeMttr(twenty).p95 - 1900)).toBeLessThanOrEqual(1.9);
  });

  it('has no figures when nothing was measured', () => {
    const s = summarizeMttr([]);
    expect(s.count).toBe(0);
    expect(s.p95).toBeNaN();
  });
});

describe('seeded random', () => {
  it('repeats its choices for the same seed and differs for another', () => {
    const pick = (seed: string) => {
      const r = createRandom(seed);
      return Array.from({ length: 20 }, () => r.int(1000));
    };
    expect(pick('a')).toEqual(pick('a'));
    expect(pick('a')).not.toEqual(pick('b'));
    expect(pick('a').every((n) => n >= 0 && n < 1000)).toBe(true);
  });
});
