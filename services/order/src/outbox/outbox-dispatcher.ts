import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { SPAN_ATTRIBUTES } from '@self-healing-shop/contracts';
import {
  BulkheadFullError,
  CircuitOpenError,
  DependencyHttpError,
  systemClock,
  type CircuitState,
  type Clock,
} from '@self-healing-shop/resilience';
import { linkToTraceparent } from '@self-healing-shop/service-kit';
import { DEFAULT_OUTBOX_SETTINGS } from './outbox-settings.ts';
import type { InventoryClient } from '../inventory-client.ts';
import type { NotificationClient } from '../notification-client.ts';
import type { DeliveryFailure, OutboxKind, OutboxMessage, OutboxStore } from './outbox-store.ts';

export interface OutboxDispatcherOptions {
  /** Rows claimed per round. */
  readonly batchSize: number;
  /** Fallback poll when nothing wakes the dispatcher (rows of crashed replicas, backoff expiry). */
  readonly pollIntervalMs: number;
  /** How long a claimed row stays with its dispatcher before another may take it (a replica died). */
  readonly leaseMs: number;
  /** Delay before the 2nd attempt; doubles per attempt up to `maxBackoffMs`, with jitter. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export interface OutboxDispatcherDeps {
  readonly outbox: OutboxStore;
  readonly inventory: InventoryClient;
  readonly notification: NotificationClient;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Uniform in [0, 1): the backoff jitter. */
  readonly random?: () => number;
  readonly options?: Partial<OutboxDispatcherOptions>;
}

const DEPENDENCY_OF: Readonly<Record<OutboxKind, 'notification' | 'inventory'>> = {
  'order-confirmation': 'notification',
  'release-reservation': 'inventory',
};

const tracer = trace.getTracer('@self-healing-shop/order/outbox');

/** While a circuit is half-open, only this many rows of its kind go out per round (the probes). */
const HALF_OPEN_BATCH = 3;

type Outcome = { readonly ok: true } | { readonly ok: false; readonly failure: DeliveryFailure };

/**
 * Delivers the outbox: order confirmations to notification, stock releases to inventory. Rows are
 * claimed with a lease (SKIP LOCKED), so replicas deliver disjoint rows and a dead replica's rows come
 * back after the lease. A failed row waits with exponential backoff and jitter (attempts and
 * next_attempt_at per row); a row whose dependency's circuit is open is not claimed at all. Woken at
 * once after a commit and on circuit recovery, else it polls.
 */
export class OutboxDispatcher {
  readonly #outbox: OutboxStore;
  readonly #inventory: InventoryClient;
  readonly #notification: NotificationClient;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly options: OutboxDispatcherOptions;
  readonly #subscriptions: Array<{ dispose(): void }> = [];
  #running: Promise<void> | undefined;
  #stopped = true;
  #woken = false;
  #wakeUp: (() => void) | undefined;
  readonly #marks: Array<{ message: OutboxMessage; resolve: () => void; reject: (error: unknown) => void }> =
    [];
  #marking: Promise<void> | undefined;

  constructor(deps: OutboxDispatcherDeps) {
    this.#outbox = deps.outbox;
    this.#inventory = deps.inventory;
    this.#notification = deps.notification;
    this.#logger = deps.logger.child({ component: 'outbox-dispatcher' });
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
    this.options = { ...DEFAULT_OUTBOX_SETTINGS.dispatcher, ...deps.options };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const onRecovery = ({ to }: { to: CircuitState }) => {
      if (to === 'half-open' || to === 'closed') this.wake();
    };
    this.#subscriptions.push(
      this.#inventory.onCircuitStateChange(onRecovery),
      this.#notification.onCircuitStateChange(onRecovery),
    );
    this.#running = this.#loop();
  }

  /** Finishes the round under way (deliveries complete and are recorded), then stops. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const s of this.#subscriptions.splice(0)) s.dispose();
    this.#wakeUp?.();
    await this.#running;
    this.#running = undefined;
  }

  /** New rows are due: run a round now rather than at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /** Claims one batch of due rows and delivers them; returns how many rows it claimed. */
  async runOnce(): Promise<number> {
    const now = this.#clock.now();
    const limit = this.#claimLimit();
    if (limit === 0) return 0;
    const kinds = (Object.keys(DEPENDENCY_OF) as OutboxKind[]).filter(
      (k) => this.#allowed(DEPENDENCY_OF[k]) > 0,
    );
    const messages = await this.#outbox.claimDue(
      new Date(now),
      new Date(now + this.options.leaseMs),
      limit,
      kinds,
    );
    if (messages.length === 0) return 0;
    const outcomes = await Promise.all(messages.map((m) => this.#deliver(m)));
    await this.#record(messages, outcomes);
    return messages.length;
  }

  /**
   * Delivers a row its writer still holds (inserted with attempts 1 and a lease): the order request
   * sends its confirmation at once. Never throws; true when delivered and recorded.
   */
  async deliverNow(message: OutboxMessage): Promise<boolean> {
    try {
      const outcome = await this.#deliver(message);
      if (outcome.ok) {
        await this.#markDeliveredBatched(message);
        return true;
      }
      await this.#record([message], [outcome]);
      this.wake();
      return false;
    } catch (error) {
      // The row keeps its lease and goes out once it expires.
      this.#logger.warn(
        { err: error, orderId: message.orderId, kind: message.kind },
        'outbox delivery not recorded',
      );
      return false;
    }
  }

  /**
   * Marks inline deliveries in batches: while one UPDATE runs, the next ones gather and go together,
   * one statement for many orders under load (and no wait at all when idle).
   */
  #markDeliveredBatched(message: OutboxMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#marks.push({ message, resolve, reject });
      if (!this.#marking) this.#marking = this.#flushMarks();
    });
  }

  async #flushMarks(): Promise<void> {
    while (this.#marks.length > 0) {
      const batch = this.#marks.splice(0);
      try {
        await this.#outbox.markDelivered(
          batch.map((b) => b.message),
          new Date(this.#clock.now()),
        );
        for (const b of batch) b.resolve();
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    this.#marking = undefined;
  }

  /** Rows per round: none for a dependency whose circuit is open, a few probes while half-open. */
  #claimLimit(): number {
    return Math.min(
      this.options.batchSize,
      Math.max(this.#allowed('inventory'), this.#allowed('notification')),
    );
  }

  #allowed(dependency: 'inventory' | 'notification'): number {
    const state = (dependency === 'inventory' ? this.#inventory : this.#notification).circuitState;
    if (state === 'open' || state === 'isolated') return 0;
    return state === 'half-open' ? HALF_OPEN_BATCH : this.options.batchSize;
  }

  /**
   * One delivery in its own span, which links to the span of the request that wrote the row (its
   * traceparent): a delivery by the dispatcher, seconds later or on another replica, is a trace of its
   * own, found from the order's trace and back. Inside the order request (inline) it is a child span.
   */
  #deliver(message: OutboxMessage): Promise<Outcome> {
    const link = linkToTraceparent(message.traceparent);
    return tracer.startActiveSpan(
      `outbox deliver ${message.kind}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [SPAN_ATTRIBUTES.orderId]: message.orderId,
          [SPAN_ATTRIBUTES.dependency]: DEPENDENCY_OF[message.kind],
          'shop.outbox.kind': message.kind,
          'shop.outbox.attempt': message.attempts,
        },
        ...(link ? { links: [link] } : {}),
      },
      async (span) => {
        const outcome = await this.#send(message);
        if (!outcome.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.failure.error });
        span.end();
        return outcome;
      },
    );
  }

  async #send(message: OutboxMessage): Promise<Outcome> {
    try {
      if (message.kind === 'order-confirmation') {
        const payload = message.payload as { recipient?: unknown };
        await this.#notification.sendConfirmation({
          orderId: message.orderId,
          recipient: String(payload.recipient),
          payload: message.payload,
        });
      } else {
        await this.#inventory.release(message.orderId);
      }
      return { ok: true };
    } catch (error) {
      return this.#failure(message, error);
    }
  }

  #failure(message: OutboxMessage, error: unknown): Outcome {
    const now = this.#clock.now();
    const notSent = error instanceof CircuitOpenError || error instanceof BulkheadFullError;
    // A call that never left does not count as an attempt: the row waits for the circuit instead.
    const attempts = notSent ? Math.max(0, message.attempts - 1) : message.attempts;
    const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
    const delay = notSent
      ? Math.max(retryAfterMs ?? 0, this.options.pollIntervalMs)
      : Math.max(this.#backoff(attempts), retryAfterMs ?? 0);
    const answered = error instanceof DependencyHttpError && error.status !== undefined && error.status < 500;
    const log = answered ? this.#logger.error : this.#logger.warn;
    log.call(
      this.#logger,
      { err: error, orderId: message.orderId, kind: message.kind, attempts, retryInMs: Math.round(delay) },
      answered ? 'outbox delivery refused by the dependency' : 'outbox delivery failed',
    );
    return {
      ok: false,
      failure: {
        id: message.id,
        version: message.version,
        attempts,
        nextAttemptAt: new Date(now + delay),
        error: error instanceof Error ? error.message : String(error),
      },
    };
  }

  /** Exponential backoff with jitter in [delay/2, delay]: attempt 1 waits ~initial, 2 twice that, ... */
  #backoff(attempts: number): number {
    const exp = Math.min(
      this.options.maxBackoffMs,
      this.options.initialBackoffMs * 2 ** Math.max(0, attempts - 1),
    );
    return exp / 2 + (exp / 2) * this.#random();
  }

  async #record(messages: readonly OutboxMessage[], outcomes: readonly Outcome[]): Promise<void> {
    const now = new Date(this.#clock.now());
    const delivered = messages.filter((_, i) => outcomes[i]?.ok);
    const failed = outcomes.flatMap((o) => (o.ok ? [] : [o.failure]));
    await Promise.all([this.#outbox.markDelivered(delivered, now), this.#outbox.reschedule(failed)]);
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      this.#woken = false;
      let claimed = 0;
      try {
        claimed = await this.runOnce();
      } catch (error) {
        this.#logger.warn({ err: error }, 'outbox round failed');
      }
      if (this.#stopped) break;
      // A full batch means more may be due; a wake during the round means new rows arrived.
      if (claimed >= this.options.batchSize || this.#woken) continue;
      await this.#sleep(this.options.pollIntervalMs);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => done(), ms, { unref: true });
      const done = () => {
        this.#clock.clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
      this.#wakeUp = done;
    });
  }
}
