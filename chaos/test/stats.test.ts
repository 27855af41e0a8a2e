import { describe, expect, it } from '@jest/globals';
import { quantile, summarize } from '../src/stats.ts';
import { createRandom } from '../src/random.ts';

describe('MTTR statistics', () => {
  it('interpolates quantiles between closest ranks', () => {
    const values = [4, 1, 3, 2, 5];
    expect(quantile(values, 0)).toBe(1);
    expect(quantile(values, 0.5)).toBe(3);
    expect(quantile(values, 1)).toBe(5);
    expect(quantile(values, 0.95)).toBeCloseTo(4.8);
    expect(quantile([1, 2], 0.5)).toBe(1.5);
  });

  it('summarizes min, p50, p95, max and mean over the rounds', () => {
    expect(summarize([1000, 3000, 2000])).toEqual({
      count: 3,
      min: 1000,
      p50: 2000,
      p95: 2900,
      max: 3000,
      mean: 2000,
    });
    expect(summarize([7])).toMatchObject({ min: 7, p50: 7, p95: 7, max: 7 });
  });

  it('has no figures when nothing was measured', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p95).toBeNaN();
  });

  it('rejects a quantile outside 0..1', () => {
    expect(() => quantile([1], 1.5)).toThrow('within [0, 1]');
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
