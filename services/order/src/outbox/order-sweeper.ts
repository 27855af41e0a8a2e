import type { Logger } from 'pino';
import { systemClock, type Clock } from '@self-healing-shop/resilience';
import { DEFAULT_OUTBOX_SETTINGS } from './outbox-settings.ts';
import type { StoredProblem } from '../errors.ts';
import type { OrderMetrics } from '../order-metrics.ts';
import type { OrderStore } from '../order-store.ts';

export interface OrderSweeperOptions {
  /** A pending order older than this was abandoned by a replica that died mid-way. */
  readonly pendingTimeoutMs: number;
  readonly intervalMs: number;
  readonly batchSize: number;
}

const ABANDONED: StoredProblem = {
  status: 503,
  slug: 'order-abandoned',
  title: 'Order abandoned',
  detail: 'The order was not completed in time (its replica stopped); its reservation is released',
};

export interface OrderSweeperDeps {
  readonly orders: OrderStore;
  readonly metrics: OrderMetrics;
  readonly logger: Logger;
  /** Called when releases were written to the outbox. */
  readonly onReleases: () => void;
  readonly clock?: Clock;
  readonly options?: Partial<OrderSweeperOptions>;
}

/**
 * Recovery of orders a crash left `pending`: they never got a 201, so they are failed and their
 * reservation (if any) released through the outbox. Runs on every replica; SKIP LOCKED shares the
 * work. The timeout is far above the reservation call's deadline, so no live request is overtaken.
 */
export class OrderSweeper {
  readonly #deps: OrderSweeperDeps;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly options: OrderSweeperOptions;
  #timer: unknown;
  #round: Promise<unknown> | undefined;
  #stopped = true;

  constructor(deps: OrderSweeperDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger.child({ component: 'order-sweeper' });
    this.options = { ...DEFAULT_OUTBOX_SETTINGS.sweeper, ...deps.options };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    await this.#round;
  }

  /** Fails the stale pending orders of one batch; returns their ids. */
  async runOnce(): Promise<string[]> {
    const now = this.#clock.now();
    const ids = await this.#deps.orders.failStalePending(
      new Date(now - this.options.pendingTimeoutMs),
      new Date(now),
      ABANDONED,
      this.options.batchSize,
    );
    if (ids.length > 0) {
      this.#deps.metrics.order('failed', ids.length);
      this.#logger.warn({ orders: ids }, 'abandoned pending orders failed, reservations to release');
      this.#deps.onReleases();
    }
    return ids;
  }

  #schedule(): void {
    if (this.#stopped) return;
    // Jitter keeps replicas that started together from sweeping in lockstep.
    const delay = this.options.intervalMs * (0.75 + Math.random() / 2);
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#round = this.runOnce()
          .catch((error: unknown) => this.#logger.warn({ err: error }, 'sweep failed'))
          .finally(() => this.#schedule());
      },
      delay,
      { unref: true },
    );
  }
}
