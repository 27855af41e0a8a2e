// Expected strings are what Grafana shows for these units (its value formats: automatic decimals of
// about two significant digits, seconds scaled to ms/min/hour, percentunit as %, short with K/Mil).
import { describe, expect, it } from '@jest/globals';
import { autoDecimals, formatValue } from '../src/shared/units.ts';

describe('value formatting', () => {
  it("picks decimals as Grafana's getDecimalsForValue does, none for whole numbers", () => {
    expect(autoDecimals(12.3)).toBe(1);
    expect(autoDecimals(1.5)).toBe(2);
    expect(autoDecimals(0.0123)).toBe(4);
    expect(autoDecimals(42)).toBe(0);
  });

  it('formats seconds at the scale a person reads', () => {
    expect(formatValue(0.0123, 's')).toBe('12.3 ms');
    expect(formatValue(0.25, 's')).toBe('250 ms');
    expect(formatValue(2.5, 's')).toBe('2.50 s');
    expect(formatValue(90, 's')).toBe('1.50 min');
    expect(formatValue(0.0005, 's')).toBe('500 µs');
    expect(formatValue(0, 's')).toBe('0 s');
  });

  it('shows percentunit (0–1) as a percentage', () => {
    expect(formatValue(0.05, 'percentunit')).toBe('5%');
    expect(formatValue(0.995, 'percentunit')).toBe('99.5%');
    expect(formatValue(1, 'percentunit')).toBe('100%');
  });

  it('scales short by thousands and rates with their unit', () => {
    expect(formatValue(1500, 'short')).toBe('1.50 K');
    expect(formatValue(42, 'short')).toBe('42');
    expect(formatValue(12, 'reqps')).toBe('12 req/s');
    expect(formatValue(2500, 'ops')).toBe('2.50K ops/s');
    expect(formatValue(3, 'none')).toBe('3');
  });

  it('says No data for a missing value', () => {
    expect(formatValue(null, 's')).toBe('No data');
    expect(formatValue(Number.NaN, 'short')).toBe('No data');
  });

  it('shows dateTimeFromNow relative to now', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(formatValue(now - 5 * 60_000, 'dateTimeFromNow', { nowMs: now })).toBe('5 minutes ago');
    expect(formatValue(now - 3_600_000, 'dateTimeFromNow', { nowMs: now })).toBe('an hour ago');
    expect(formatValue(now - 10_000, 'dateTimeFromNow', { nowMs: now })).toBe('a few seconds ago');
  });
});
