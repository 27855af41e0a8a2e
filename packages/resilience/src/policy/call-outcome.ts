import {
  BulkheadFullError,
  CircuitOpenError,
  ConcurrencyLimitError,
  RetriesExhaustedError,
  TimeoutError,
} from '../errors/errors.ts';
import type { CallOutcome } from '../metrics/metrics.ts';

/** The `outcome` label of resilience_calls_total for a call that failed with `error`. */
export function outcomeOf(error: unknown, isFailure: (error: unknown) => boolean): CallOutcome {
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof RetriesExhaustedError)
    return error.cause instanceof TimeoutError ? 'timeout' : 'failure';
  if (error instanceof CircuitOpenError) return 'rejected_open';
  if (error instanceof BulkheadFullError) return 'rejected_bulkhead';
  if (error instanceof ConcurrencyLimitError) return 'rejected_limit';
  // A 404 or 409 is the dependency answering as designed.
  return isFailure(error) ? 'failure' : 'success';
}
