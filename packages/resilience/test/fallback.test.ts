import { describe, expect, it } from '@jest/globals';
import { CircuitOpenError, DependencyHttpError } from '../src/errors/errors.ts';
import { withFallback } from '../src/fallback/fallback.ts';

describe('fallback', () => {
  it('returns the fallback value when the dependency fails', async () => {
    const value = await withFallback(
      () => Promise.reject(new CircuitOpenError('recommendations', 'open', 1000)),
      (error) => (error instanceof CircuitOpenError ? ['cached'] : []),
    );
    expect(value).toEqual(['cached']);
  });

  it('passes a 4xx answer through instead of falling back', async () => {
    const conflict = new DependencyHttpError('inventory', {
      method: 'POST',
      url: '/reservations',
      status: 409,
      retryable: false,
      countsAsFailure: false,
    });
    await expect(
      withFallback(
        () => Promise.reject(conflict),
        () => 'fallback',
      ),
    ).rejects.toBe(conflict);
  });

  it('falls back only on the errors its predicate accepts', async () => {
    const boom = new Error('boom');
    await expect(
      withFallback(
        () => Promise.reject(boom),
        () => 'x',
        { when: () => false },
      ),
    ).rejects.toBe(boom);
  });
});
