import { describe, expect, it } from '@jest/globals';
import {
  BulkheadFullError,
  CircuitOpenError,
  countsAsFailure,
  DependencyHttpError,
  httpStatusFor,
  isRetryable,
  ResilienceError,
  RetriesExhaustedError,
  TimeoutError,
} from '../src/errors/errors.ts';

describe('resilience errors', () => {
  it('gives every error its dependency, code, class name and ResilienceError base', () => {
    const errors = [
      new TimeoutError('inventory', 100),
      new CircuitOpenError('inventory', 'open', 5000),
      new BulkheadFullError('inventory', 10, 0),
      new RetriesExhaustedError('inventory', 3, 'max-attempts', new Error('x')),
    ];
    expect(errors.map((e) => [e.name, e.code, e.dependency, e instanceof ResilienceError])).toEqual([
      ['TimeoutError', 'TIMEOUT', 'inventory', true],
      ['CircuitOpenError', 'CIRCUIT_OPEN', 'inventory', true],
      ['BulkheadFullError', 'BULKHEAD_FULL', 'inventory', true],
      ['RetriesExhaustedError', 'RETRIES_EXHAUSTED', 'inventory', true],
    ]);
  });

  it('marks attempt timeouts retryable and deadline timeouts not', () => {
    expect(isRetryable(new TimeoutError('d', 100, 'attempt'))).toBe(true);
    expect(isRetryable(new TimeoutError('d', 100, 'deadline'))).toBe(false);
    expect(isRetryable(new CircuitOpenError('d', 'open'))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });

  it('carries the remaining cool-down of an open circuit as retryAfterMs', () => {
    expect(new CircuitOpenError('d', 'open', 1234).retryAfterMs).toBe(1234);
    expect(new CircuitOpenError('d', 'isolated').retryAfterMs).toBeUndefined();
  });

  it('keeps the last error as cause of RetriesExhaustedError, with its Retry-After', () => {
    const last = new DependencyHttpError('d', {
      method: 'GET',
      url: '/x',
      status: 503,
      retryable: true,
      countsAsFailure: true,
      retryAfterMs: 2000,
    });
    const error = new RetriesExhaustedError('d', 3, 'max-attempts', last);
    expect(error.cause).toBe(last);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.message).toContain('3 attempt(s)');
  });

  it('counts every error as a failure unless it says otherwise', () => {
    expect(countsAsFailure(new Error('x'))).toBe(true);
    const notFound = new DependencyHttpError('d', {
      method: 'GET',
      url: '/x',
      status: 404,
      retryable: false,
      countsAsFailure: false,
    });
    expect(countsAsFailure(notFound)).toBe(false);
    expect(notFound.code).toBe('DEPENDENCY_HTTP_ERROR');
  });

  it('maps timeouts to 504 and the other resilience errors to 503', () => {
    expect(httpStatusFor(new TimeoutError('d', 1))).toBe(504);
    expect(httpStatusFor(new RetriesExhaustedError('d', 2, 'max-attempts', new TimeoutError('d', 1)))).toBe(
      504,
    );
    expect(httpStatusFor(new CircuitOpenError('d', 'open', 1))).toBe(503);
    expect(httpStatusFor(new BulkheadFullError('d', 1, 1))).toBe(503);
  });
});
