import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '../src/clock/clock.ts';
import { createRetryBudget } from '../src/retry/retry-budget.ts';

describe('retry budget', () => {
  it('allows retries up to the budget percentage of recent requests plus the per-second floor', () => {
    const clock = createManualClock();
    const budget = createRetryBudget(
      'd',
      { budgetPercent: 20, minRetriesPerSecond: 1, windowMs: 10_000 },
      { clock },
    );
    for (let i = 0; i < 100; i++) budget.recordRequest();
    // 10 (floor: 1/s over 10 s) + 20% of 100.
    let granted = 0;
    while (budget.tryAcquireRetry()) granted++;
    expect(granted).toBe(30);
    expect(budget.available).toBe(0);
  });

  it('keeps the floor available when there is no traffic', () => {
    const clock = createManualClock();
    const budget = createRetryBudget(
      'd',
      { budgetPercent: 20, minRetriesPerSecond: 0.5, windowMs: 10_000 },
      { clock },
    );
    expect(budget.available).toBe(5);
  });

  it('forgets requests and retries older than the window', () => {
    const clock = createManualClock();
    const budget = createRetryBudget(
      'd',
      { budgetPercent: 50, minRetriesPerSecond: 0, windowMs: 1000 },
      { clock },
    );
    for (let i = 0; i < 10; i++) budget.recordRequest();
    for (let i = 0; i < 5; i++) expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(false);
    clock.advance(1000);
    expect(budget.available).toBe(0);
    for (let i = 0; i < 4; i++) budget.recordRequest();
    expect(budget.available).toBe(2);
  });

  it('slides: requests of the last part of the window still count', () => {
    const clock = createManualClock(0);
    const budget = createRetryBudget(
      'd',
      { budgetPercent: 100, minRetriesPerSecond: 0, windowMs: 1000 },
      { clock },
    );
    budget.recordRequest();
    clock.advance(500);
    budget.recordRequest();
    clock.advance(550);
    // The first request left the window; the second is still in it.
    expect(budget.available).toBe(1);
  });

  it('rejects negative settings', () => {
    expect(() => createRetryBudget('d', { budgetPercent: -1 })).toThrow(RangeError);
    expect(() => createRetryBudget('d', { windowMs: 0 })).toThrow(RangeError);
  });
});
