import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DependencyHttpError,
  systemClock,
  type Clock,
  type DegradationManager,
} from '@self-healing-shop/resilience';
import {
  IdempotencyKeyReusedError,
  InsufficientStockError,
  OrderNotFoundError,
  OrderStateError,
  StoredProblemError,
  toStoredProblem,
  UnknownProductError,
  type StoredProblem,
} from './errors.ts';
import { SPAN_ATTRIBUTES } from '@self-healing-shop/contracts';
import {
  activeTraceparent,
  setActiveSpanAttributes,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
} from '@self-healing-shop/service-kit';
import { ReservationReleasedError, type InventoryClient } from './inventory-client.ts';
import type { OrderMetrics } from './order-metrics.ts';
import type { OrderRecord, OrderStore } from './order-store.ts';
import type { OutboxDispatcher } from './outbox/outbox-dispatcher.ts';
import type { ConfirmationPayload } from './outbox/outbox-store.ts';
import type { PlaceOrderRequest } from './schemas.ts';

/** The feature the degradation manager sheds while notification's circuit is open. */
export const SEND_CONFIRMATION = 'send-confirmation';

export interface OrderServiceOptions {
  /** How long the order request waits for its confirmation to go out before answering `queued`. */
  readonly inlineConfirmationBudgetMs: number;
  /** Lease of a confirmation the request delivers itself; the dispatcher takes over after it. */
  readonly leaseMs: number;
}

export interface OrderServiceDeps {
  readonly orders: OrderStore;
  readonly inventory: InventoryClient;
  readonly dispatcher: OutboxDispatcher;
  readonly degradation: DegradationManager;
  readonly metrics: OrderMetrics;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly options: OrderServiceOptions;
}

export interface PlaceResult {
  readonly order: OrderRecord;
  /** False when the Idempotency-Key named an order placed before (this answer replays it). */
  readonly created: boolean;
}

/** What the client gets while inventory is unreachable (kept on the failed order). */
function unavailableProblem(error: unknown): StoredProblem {
  return {
    status: 503,
    slug: 'dependency-unavailable',
    title: 'Dependency unavailable',
    detail: error instanceof Error ? error.message : String(error),
  };
}

/**
 * A definitive refusal from inventory besides out-of-stock and unknown products: a 400 or 422 means
 * inventory read the request and reserved nothing. Timeouts, resets, 5xx, 408 and 429 are not definitive.
 */
function refusedByInventory(error: unknown): error is DependencyHttpError {
  return error instanceof DependencyHttpError && (error.status === 400 || error.status === 422);
}

function dependencyRejected(error: DependencyHttpError): StoredProblem {
  return {
    status: 502,
    slug: 'dependency-rejected',
    title: 'Dependency rejected the request',
    detail: `inventory answered ${error.status} to the reservation`,
  };
}

/** Same customer and the same merged items (in any order) give the same hash. */
export function requestHash(request: PlaceOrderRequest): string {
  const items = [...request.items]
    .sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0))
    .map((i) => [i.productId, i.quantity]);
  return createHash('sha256')
    .update(JSON.stringify([request.customer.email, items]))
    .digest('base64url');
}

/**
 * Placing an order: insert it `pending` (the Idempotency-Key is unique), reserve the stock (idempotent
 * on the order id, so retries and concurrent duplicates reserve once), then in one statement confirm it
 * and write its confirmation to the outbox. Whatever step a crash interrupts, the order is either
 * confirmed with its confirmation queued, or still pending and failed later by the sweeper, which
 * releases its stock through the outbox.
 */
export class OrderService {
  readonly #deps: OrderServiceDeps;
  readonly #clock: Clock;

  constructor(deps: OrderServiceDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  async place(
    request: PlaceOrderRequest,
    idempotencyKey: string | null,
    requestId?: string,
  ): Promise<PlaceResult> {
    const { orders } = this.#deps;
    const hash = requestHash(request);
    const inserted = await db(() =>
      orders.insertPending({
        id: randomUUID(),
        idempotencyKey,
        requestHash: hash,
        customerEmail: request.customer.email,
        items: request.items,
        now: this.#now(),
      }),
    );
    if (inserted.created) return { order: await this.#drive(inserted.order, requestId), created: true };

    const existing = inserted.order;
    if (!existing) throw new OrderStateError('An order with this Idempotency-Key is changing state; retry');
    if (existing.requestHash !== hash) throw new IdempotencyKeyReusedError(idempotencyKey ?? '');
    // Still pending: its first request is under way or died. Driving it again is safe (one reservation
    // per order id; only one confirm applies) and finishes the order a crash left behind.
    const order = existing.status === 'pending' ? await this.#drive(existing, requestId) : answer(existing);
    return { order, created: false };
  }

  async get(id: string): Promise<OrderRecord> {
    const order = await db(() => this.#deps.orders.findById(id));
    if (!order) throw new OrderNotFoundError(id);
    return order;
  }

  async list(limit: number, beforeSeq: number | undefined): Promise<OrderRecord[]> {
    return db(() => this.#deps.orders.list(limit, beforeSeq));
  }

  /** confirmed → cancelled, releasing the stock through the outbox; cancelling again answers the same. */
  async cancel(id: string): Promise<OrderRecord> {
    const { orders, metrics, dispatcher, logger } = this.#deps;
    const order = await this.get(id);
    if (order.status === 'confirmed') {
      if (await db(() => orders.cancel(id, this.#now()))) {
        metrics.order('cancelled');
        logger.info({ orderId: id }, 'order cancelled');
        dispatcher.wake();
      }
      return this.cancel(id);
    }
    if (order.status === 'cancelled') return order;
    throw new OrderStateError(
      order.status === 'pending'
        ? `Order ${id} is still being placed; retry in a moment`
        : `Order ${id} is ${order.status}; only confirmed orders can be cancelled`,
    );
  }

  async #drive(order: OrderRecord, requestId: string | undefined): Promise<OrderRecord> {
    const { orders, inventory, metrics, logger } = this.#deps;
    setActiveSpanAttributes({ [SPAN_ATTRIBUTES.orderId]: order.id });
    let reservation;
    try {
      reservation = await inventory.reserve(order.id, order.items, requestId);
    } catch (error) {
      return this.#onReserveFailed(order, error);
    }

    const now = this.#now();
    const inline = this.#deps.degradation.isEnabled(SEND_CONFIRMATION);
    const payload: ConfirmationPayload = {
      recipient: order.customerEmail,
      orderId: order.id,
      items: reservation.items,
      ...(reservation.totalCents === null ? {} : { totalCents: reservation.totalCents }),
      placedAt: order.createdAt.toISOString(),
    };
    const outboxId = await db(() =>
      orders.confirm(
        order.id,
        { items: reservation.items, totalCents: reservation.totalCents, now },
        {
          payload,
          attempts: inline ? 1 : 0,
          nextAttemptAt: inline ? new Date(now.getTime() + this.#deps.options.leaseMs) : now,
          // The confirmation's delivery, whenever and wherever it runs, links to this request's trace.
          traceparent: activeTraceparent(),
        },
      ),
    );
    if (outboxId === undefined) {
      // Another request decided this order first. Unless it confirmed it, our reservation must go.
      if (await db(() => orders.releaseUnlessConfirmed(order.id, now))) this.#deps.dispatcher.wake();
      return answer(await this.get(order.id));
    }
    metrics.order('confirmed');
    logger.info({ orderId: order.id, items: reservation.items }, 'order confirmed');

    const confirmed: OrderRecord = {
      ...order,
      status: 'confirmed',
      items: reservation.items,
      totalCents: reservation.totalCents,
      updatedAt: now,
      notification: 'queued',
    };
    if (!inline) {
      this.#deps.dispatcher.wake();
      return confirmed;
    }
    const sent = await this.#sendConfirmation({
      id: outboxId,
      orderId: order.id,
      kind: 'order-confirmation',
      payload: { ...payload },
      attempts: 1,
      version: 0,
    });
    return sent ? { ...confirmed, notification: 'sent' } : confirmed;
  }

  /** Sends the confirmation now, waiting at most the inline budget; the outbox owns it either way. */
  async #sendConfirmation(message: Parameters<OutboxDispatcher['deliverNow']>[0]): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#deps.options.inlineConfirmationBudgetMs);
    });
    try {
      return await Promise.race([this.#deps.dispatcher.deliverNow(message), budget]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #onReserveFailed(order: OrderRecord, error: unknown): Promise<OrderRecord> {
    const { orders, metrics, logger, dispatcher } = this.#deps;
    const now = this.#now();
    if (error instanceof InsufficientStockError) {
      if (await db(() => orders.reject(order.id, toStoredProblem(error), now))) {
        metrics.order('rejected');
        logger.info({ orderId: order.id, errors: error.errors }, 'order rejected: insufficient stock');
        throw error;
      }
      return answer(await this.get(order.id));
    }
    if (error instanceof UnknownProductError) {
      // A bad request: nothing was reserved and no order is kept.
      await db(() => orders.discard(order.id));
      throw error;
    }
    if (error instanceof ReservationReleasedError) {
      // The order was given up (failed or abandoned) while this request was reserving: inventory holds
      // a tombstone for it, nothing.
      return answer(await this.get(order.id));
    }
    if (refusedByInventory(error)) {
      // Inventory answered and refused the request itself (a validation bug between the services):
      // nothing was reserved, and retrying the same request cannot succeed.
      if (await db(() => orders.reject(order.id, dependencyRejected(error), now))) metrics.order('rejected');
      throw error;
    }
    // Anything but a definitive answer from inventory (timeout, reset, 5xx, circuit open or bulkhead
    // full after an attempt that may have reached it): the call may have reserved. The release is armed
    // in the same statement as the failure; inventory's release is idempotent and leaves a tombstone
    // that refuses a reservation still in flight, so arming one for nothing costs a call, never stock.
    try {
      if (await orders.fail(order.id, unavailableProblem(error), now)) {
        metrics.order('failed');
        logger.warn({ orderId: order.id, err: error }, 'order failed: inventory unavailable, release armed');
        dispatcher.wake();
      }
    } catch (dbError) {
      // The order stays pending; the sweeper fails it and releases its stock later.
      logger.error({ orderId: order.id, err: dbError }, 'failed order could not be recorded');
    }
    throw error;
  }

  #now(): Date {
    return new Date(this.#clock.now());
  }
}

/** The answer for an order that is settled already (an idempotent replay or a decision made elsewhere). */
function answer(order: OrderRecord): OrderRecord {
  if (order.status === 'confirmed' || order.status === 'cancelled' || order.status === 'pending')
    return order;
  return rethrowSettled(order);
}

function rethrowSettled(order: OrderRecord): never {
  if (order.status === 'rejected' && order.problem) throw new StoredProblemError(order.problem);
  throw new StoredProblemError(
    order.problem ?? {
      status: 503,
      slug: 'order-failed',
      title: 'Order failed',
      detail: `Order ${order.id} failed; retry`,
    },
  );
}

/** Runs a store call; a database that cannot be reached becomes 503 + Retry-After rather than 500. */
async function db<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw new DatabaseUnavailableError(error);
    throw error;
  }
}
