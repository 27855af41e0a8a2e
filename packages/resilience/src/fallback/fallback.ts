import { countsAsFailure } from '../errors/errors.ts';

/** Produces the degraded answer from the error that made the call fail. */
export type Fallback<T> = (error: unknown) => T | Promise<T>;

/**
 * Default: fall back on failures of the dependency (timeouts, open circuit, full bulkhead, 5xx, network
 * errors), never on answers such as a 404/409 that the caller must see.
 */
export function shouldFallBack(error: unknown): boolean {
  return countsAsFailure(error);
}

export interface FallbackOptions {
  /** Which errors the fallback answers; default shouldFallBack. */
  readonly when?: (error: unknown) => boolean;
}

/** Runs `fn`; when it fails with an error the fallback answers, returns the fallback's value instead. */
export async function withFallback<T>(
  fn: () => Promise<T>,
  fallback: Fallback<T>,
  options: FallbackOptions = {},
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(options.when ?? shouldFallBack)(error)) throw error;
    return fallback(error);
  }
}
