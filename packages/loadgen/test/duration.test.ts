import { describe, expect, it } from '@jest/globals';
import { formatDuration, parseDuration } from '../src/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    [' 3s ', 3000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 's', '10', '250', '10x', '10s5', '-1s', 'ten seconds', '5 s'])(
    'rejects %p with an example of what works',
    (text) => {
      expect(() => parseDuration(text)).toThrow(/invalid duration .*e\.g\. 500ms, 10s, 2m/);
    },
  );
});

describe('formatDuration', () => {
  it('uses ms under a second, seconds under a minute, then minutes', () => {
    expect(formatDuration(950)).toBe('950ms');
    expect(formatDuration(1234)).toBe('1.23s');
    expect(formatDuration(125_000)).toBe('2m5s');
    expect(formatDuration(Number.NaN)).toBe('-');
  });
});

describe('bare numbers', () => {
  it('are rejected: a duration always names its unit', () => {
    expect(() => parseDuration('10')).toThrow('a bare number has no unit');
  });
});
