import { DomainError } from '@self-healing-shop/service-kit';

export class NotificationNotFoundError extends DomainError {
  constructor(id: string) {
    super(404, 'not-found', 'Not found', { detail: `No notification with id ${id}` });
  }
}

/** The channel failed: nothing was recorded, so the caller's retry sends it again. */
export class DeliveryFailedError extends DomainError {
  constructor(channel: string, orderId: string, cause: unknown) {
    super(502, 'delivery-failed', 'Delivery failed', {
      detail: `The ${channel} channel failed to deliver the notification of order ${orderId}; retry later`,
      headers: { 'retry-after': '1' },
      cause,
    });
  }
}

/** The same (orderId, kind) came with another channel or recipient: a caller bug, never accepted. */
export class IdempotencyMismatchError extends DomainError {
  constructor(orderId: string, kind: string) {
    super(409, 'idempotency-mismatch', 'Idempotency mismatch', {
      detail: `A ${kind} notification of order ${orderId} exists already with another channel or recipient`,
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
