// Expected values follow Grafana's documented behaviour: the rounding table of rangeutil.roundInterval,
// "$__interval = range / max data points, never below the min interval", and
// "$__rate_interval = max($__interval + scrape interval, 4 × scrape interval)".
import { describe, expect, it } from '@jest/globals';
import {
  alignRange,
  formatPromDuration,
  intervalMs,
  parseDurationMs,
  rateIntervalMs,
  roundIntervalMs,
  stepSeconds,
} from '../src/shared/interval.ts';

describe('durations', () => {
  it('parses Prometheus durations, compound ones included', () => {
    expect(parseDurationMs('5s')).toBe(5_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('2h')).toBe(7_200_000);
    expect(parseDurationMs('1d')).toBe(86_400_000);
  });

  it('rejects text that is not a duration, naming it', () => {
    expect(() => parseDurationMs('5 seconds')).toThrow('"5 seconds" is not a duration');
    expect(() => parseDurationMs('')).toThrow('is not a duration');
    expect(() => parseDurationMs('10')).toThrow('is not a duration');
  });

  it('writes built-ins as Grafana does for Prometheus: whole seconds as <n>s', () => {
    expect(formatPromDuration(75_000)).toBe('75s');
    expect(formatPromDuration(1_800_000)).toBe('1800s');
    expect(formatPromDuration(500)).toBe('500ms');
    expect(() => formatPromDuration(0)).toThrow('positive');
  });
});

describe('$__interval', () => {
  it('rounds a raw interval to the nice value of the table', () => {
    expect(roundIntervalMs(1_800)).toBe(2_000); // 30 min over 1,000 px
    expect(roundIntervalMs(3_600)).toBe(5_000); // 1 h over 1,000 px
    expect(roundIntervalMs(12_000)).toBe(10_000);
    expect(roundIntervalMs(12_500)).toBe(15_000);
    expect(roundIntervalMs(86_400)).toBe(60_000); // 24 h over 1,000 px
    expect(roundIntervalMs(604_800)).toBe(600_000); // 7 d over 1,000 px
    expect(roundIntervalMs(5)).toBe(1);
    expect(roundIntervalMs(4e10)).toBe(31_536_000_000);
  });

  it('divides the range by the max data points and never goes below the min interval', () => {
    expect(intervalMs(30 * 60_000, 1_000, 1)).toBe(2_000);
    expect(intervalMs(30 * 60_000, 1_000, 5_000)).toBe(5_000);
    expect(intervalMs(24 * 3_600_000, 1_000, 5_000)).toBe(60_000);
  });

  it('rejects an empty range or zero data points', () => {
    expect(() => intervalMs(0, 100, 1)).toThrow('time range must be positive');
    expect(() => intervalMs(1000, 0, 1)).toThrow('max data points');
  });
});

describe('$__rate_interval', () => {
  it('is four scrapes when the interval is short', () => {
    // scrape 15 s, $__interval 15 s: max(30 s, 60 s) = 60 s
    expect(rateIntervalMs(15_000, 15_000)).toBe(60_000);
    // the local Prometheus scrapes every 5 s: a 5 s interval gives 20 s
    expect(rateIntervalMs(5_000, 5_000)).toBe(20_000);
  });

  it('is the interval plus one scrape when the interval is long', () => {
    // scrape 15 s, $__interval 1 m: max(75 s, 60 s) = 75 s
    expect(rateIntervalMs(60_000, 15_000)).toBe(75_000);
    expect(formatPromDuration(rateIntervalMs(60_000, 15_000))).toBe('75s');
  });
});

describe('range query step', () => {
  it('is the interval in seconds, raised to stay within 11,000 points', () => {
    expect(stepSeconds(30 * 60_000, 5_000)).toBe(5);
    // 30 days at 1 s would be 2.6 million points: at most 11,000 → ceil(2,592,000 / 11,000) = 236 s
    expect(stepSeconds(30 * 86_400_000, 1_000)).toBe(236);
  });

  it('aligns start down and end up to the step', () => {
    expect(alignRange(1_000_003_000, 1_000_017_000, 5)).toEqual({ start: 1_000_000, end: 1_000_020 });
  });
});
