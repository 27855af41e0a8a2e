// One class per way a call through a dependency policy can fail. Services map them to problem+json:
// 503 with Retry-After (504 for TimeoutError); DependencyHttpError with a 4xx is the dependency's answer.

export type ResilienceErrorCode =
  | 'TIMEOUT'
  | 'CIRCUIT_OPEN'
  | 'BULKHEAD_FULL'
  | 'CONCURRENCY_LIMITED'
  | 'RETRIES_EXHAUSTED'
  | 'DEPENDENCY_HTTP_ERROR'
  | 'DEPENDENCY_UNREACHABLE'
  | 'POLICY_DISPOSED';

export interface ResilienceErrorOptions {
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

export class ResilienceError extends Error {
  readonly dependency: string;
  readonly code: ResilienceErrorCode;
  /** How long the caller should wait before trying again, when known. */
  readonly retryAfterMs?: number;
  /** Whether the retry policy may try the call again (only failures marked retryable are retried). */
  readonly retryable: boolean = false;
  /** Whether the circuit breaker counts this error as a failure of the dependency. */
  readonly countsAsFailure: boolean = true;

  constructor(
    dependency: string,
    code: ResilienceErrorCode,
    message: string,
    options?: ResilienceErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.dependency = dependency;
    this.code = code;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** `attempt`: one try took longer than its timeout; `deadline`: the overall deadline of the call passed. */
export type TimeoutScope = 'attempt' | 'deadline';

export class TimeoutError extends ResilienceError {
  readonly timeoutMs: number;
  readonly scope: TimeoutScope;
  override readonly retryable: boolean;

  constructor(dependency: string, timeoutMs: number, scope: TimeoutScope = 'attempt') {
    super(dependency, 'TIMEOUT', `${dependency}: ${scope} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
    this.scope = scope;
    // Once the overall deadline has passed another attempt cannot help.
    this.retryable = scope === 'attempt';
  }
}

export class CircuitOpenError extends ResilienceError {
  readonly state: 'open' | 'half-open' | 'isolated';

  constructor(dependency: string, state: 'open' | 'half-open' | 'isolated', retryAfterMs?: number) {
    super(
      dependency,
      'CIRCUIT_OPEN',
      `${dependency}: circuit ${state}, call rejected`,
      retryAfterMs === undefined ? undefined : { retryAfterMs },
    );
    this.state = state;
  }
}

export class BulkheadFullError extends ResilienceError {
  readonly maxConcurrent: number;
  readonly maxQueue: number;

  constructor(dependency: string, maxConcurrent: number, maxQueue: number) {
    super(
      dependency,
      'BULKHEAD_FULL',
      `${dependency}: bulkhead full (${maxConcurrent} running, ${maxQueue} queued)`,
    );
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }
}

/**
 * The adaptive concurrency limit of the dependency is reached and its queue is full. Our own burst, not a
 * failure of the dependency: the breaker never counts it.
 */
export class ConcurrencyLimitError extends ResilienceError {
  readonly limit: number;
  readonly maxQueue: number;
  override readonly countsAsFailure = false;

  constructor(dependency: string, limit: number, maxQueue: number) {
    super(
      dependency,
      'CONCURRENCY_LIMITED',
      `${dependency}: concurrency limit reached (${limit} running, ${maxQueue} queued)`,
    );
    this.limit = limit;
    this.maxQueue = maxQueue;
  }
}

/**
 * Why the retry policy stopped while the last failure was still retryable. `circuit-open`: the circuit
 * opened (through other calls) while this call was between attempts; an earlier attempt was sent, so the
 * dependency may have acted on it (never read this as "nothing happened", as a CircuitOpenError reads).
 */
export type RetryStopReason =
  'max-attempts' | 'budget' | 'deadline' | 'retry-after-too-long' | 'circuit-open';

export class RetriesExhaustedError extends ResilienceError {
  readonly attempts: number;
  readonly reason: RetryStopReason;
  declare readonly cause: unknown;

  constructor(dependency: string, attempts: number, reason: RetryStopReason, lastError: unknown) {
    const retryAfterMs = (lastError as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    super(
      dependency,
      'RETRIES_EXHAUSTED',
      `${dependency}: gave up after ${attempts} attempt(s) (${reason}): ${describe(lastError)}`,
      { cause: lastError, ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}) },
    );
    this.attempts = attempts;
    this.reason = reason;
  }
}

export interface DependencyHttpErrorOptions {
  /** Absent when no response arrived (connection refused, reset, DNS). */
  readonly status?: number;
  readonly retryable: boolean;
  readonly countsAsFailure: boolean;
  readonly method: string;
  readonly url: string;
  /** Parsed response body (problem+json for the platform's services). */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Network error code such as ECONNRESET. */
  readonly networkCode?: string;
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

export class DependencyHttpError extends ResilienceError {
  readonly status?: number;
  override readonly retryable: boolean;
  override readonly countsAsFailure: boolean;
  readonly method: string;
  readonly url: string;
  readonly body?: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly networkCode?: string;

  constructor(dependency: string, options: DependencyHttpErrorOptions) {
    const what =
      options.status === undefined
        ? `no response (${options.networkCode ?? 'network error'})`
        : options.status;
    super(
      dependency,
      options.status === undefined ? 'DEPENDENCY_UNREACHABLE' : 'DEPENDENCY_HTTP_ERROR',
      `${dependency}: ${options.method} ${options.url} -> ${what}`,
      options,
    );
    if (options.status !== undefined) this.status = options.status;
    this.retryable = options.retryable;
    this.countsAsFailure = options.countsAsFailure;
    this.method = options.method;
    this.url = options.url;
    if (options.body !== undefined) this.body = options.body;
    this.headers = options.headers ?? {};
    if (options.networkCode !== undefined) this.networkCode = options.networkCode;
  }
}

export class PolicyDisposedError extends ResilienceError {
  constructor(dependency: string) {
    super(dependency, 'POLICY_DISPOSED', `${dependency}: policy disposed`);
  }
}

/** Default retry predicate: only errors that say they are retryable. */
export function isRetryable(error: unknown): boolean {
  return (error as { retryable?: unknown } | null)?.retryable === true;
}

/** Default failure predicate of the breaker: every error except those marked `countsAsFailure: false`. */
export function countsAsFailure(error: unknown): boolean {
  return (error as { countsAsFailure?: unknown } | null)?.countsAsFailure !== false;
}

/** HTTP status a service answers when a dependency call failed this way (503, or 504 for timeouts). */
export function httpStatusFor(error: ResilienceError): 503 | 504 {
  if (error instanceof TimeoutError) return 504;
  if (error instanceof RetriesExhaustedError && error.cause instanceof TimeoutError) return 504;
  return 503;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
