import { DomainError, NotFoundError, type FieldProblem } from '@self-healing-shop/service-kit';

/** A problem kept with a rejected order, so that a retry with the same Idempotency-Key gets the same answer. */
export interface StoredProblem {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly detail: string;
  readonly errors?: readonly FieldProblem[];
}

export class InsufficientStockError extends DomainError {
  constructor(detail: string, errors: readonly FieldProblem[]) {
    super(409, 'insufficient-stock', 'Insufficient stock', { detail, errors });
  }
}

export class UnknownProductError extends DomainError {
  constructor(detail: string, errors: readonly FieldProblem[]) {
    super(404, 'unknown-product', 'Unknown product', { detail, errors });
  }
}

export class OrderNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`Order ${id} does not exist`);
  }
}

export class OrderStateError extends DomainError {
  constructor(detail: string) {
    super(409, 'order-state', 'Order state does not allow this', { detail });
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor(key: string) {
    super(422, 'idempotency-key-reused', 'Idempotency key reused', {
      detail: `Idempotency-Key "${key}" was used before with a different request body`,
    });
  }
}

/** Rebuilds the answer given the first time (a rejection replayed for the same Idempotency-Key). */
export class StoredProblemError extends DomainError {
  constructor(problem: StoredProblem) {
    super(problem.status, problem.slug, problem.title, {
      detail: problem.detail,
      ...(problem.errors ? { errors: problem.errors } : {}),
      ...(problem.status === 503 ? { headers: { 'retry-after': '1' } } : {}),
    });
  }
}

export function toStoredProblem(error: DomainError): StoredProblem {
  return {
    status: error.status,
    slug: error.slug,
    title: error.title,
    detail: error.message,
    ...(error.errors && error.errors.length > 0 ? { errors: error.errors } : {}),
  };
}
