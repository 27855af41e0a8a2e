import { DomainError, type FieldProblem } from '@self-healing-shop/service-kit';

/** Some items ask for more than is in stock; nothing was reserved. */
export class InsufficientStockError extends DomainError {
  constructor(orderId: string, errors: readonly FieldProblem[]) {
    super(409, 'insufficient-stock', 'Insufficient stock', {
      detail: `Not enough stock to reserve order ${orderId}: ${errors.map((e) => e.message).join('; ')}`,
      errors,
    });
  }
}

/** Some items name products that do not exist; nothing was reserved. */
export class UnknownProductError extends DomainError {
  constructor(errors: readonly FieldProblem[]) {
    super(404, 'unknown-product', 'Unknown product', {
      detail: errors.map((e) => e.message).join('; '),
      errors,
    });
  }
}

export class ProductNotFoundError extends DomainError {
  constructor(productId: string) {
    super(404, 'not-found', 'Not found', { detail: `No product with id ${productId}` });
  }
}

export class ReservationNotFoundError extends DomainError {
  constructor(orderId: string) {
    super(404, 'not-found', 'Not found', { detail: `No reservation for order ${orderId}` });
  }
}

/** The order was released (or cancelled before it was reserved): it can never hold stock again. */
export class ReservationReleasedError extends DomainError {
  constructor(orderId: string, neverReserved: boolean) {
    super(409, 'reservation-released', 'Reservation released', {
      detail: neverReserved
        ? `Order ${orderId} was released before it was reserved; use a new order id`
        : `The reservation of order ${orderId} was released; use a new order id`,
    });
  }
}

/** The same order id came with other items: a bug in the caller, never silently accepted. */
export class IdempotencyMismatchError extends DomainError {
  constructor(orderId: string) {
    super(409, 'idempotency-mismatch', 'Idempotency mismatch', {
      detail: `Order ${orderId} was reserved before with other items`,
    });
  }
}

export class InvalidCursorError extends DomainError {
  constructor() {
    super(400, 'validation', 'Invalid request', {
      detail: 'The query is invalid: cursor: invalid cursor',
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  }
}
