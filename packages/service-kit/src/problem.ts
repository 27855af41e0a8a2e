/** One field-level problem in a request, as listed in a problem+json `errors` array. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

export interface ProblemOptions {
  readonly detail?: string;
  readonly errors?: readonly FieldProblem[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/**
 * Base of every error a service throws on purpose. The error middleware turns it into an
 * RFC 9457 `application/problem+json` response with its status, `type`, `title` and `detail`.
 */
export class DomainError extends Error {
  readonly status: number;
  /** A short, stable slug; the problem `type` is `urn:problem:<slug>`. */
  readonly slug: string;
  readonly title: string;
  readonly errors: readonly FieldProblem[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, slug: string, title: string, options: ProblemOptions = {}) {
    super(options.detail ?? title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

export class ValidationError extends DomainError {
  constructor(detail: string, errors: readonly FieldProblem[] = []) {
    super(400, 'validation', 'Invalid request', { detail, errors });
  }
}

export class NotFoundError extends DomainError {
  constructor(detail: string) {
    super(404, 'not-found', 'Not found', { detail });
  }
}

export class ConflictError extends DomainError {
  constructor(detail: string, errors?: readonly FieldProblem[]) {
    super(409, 'conflict', 'Conflict', errors ? { detail, errors } : { detail });
  }
}

export class ServiceUnavailableError extends DomainError {
  constructor(detail: string, retryAfterSeconds: number, cause?: unknown) {
    super(503, 'unavailable', 'Service unavailable', {
      detail,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
      cause,
    });
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: readonly FieldProblem[];
}

export function problemBody(error: DomainError, instance?: string): ProblemBody {
  return {
    type: `urn:problem:${error.slug}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    ...(instance ? { instance } : {}),
    ...(error.errors && error.errors.length > 0 ? { errors: error.errors } : {}),
  };
}
