import { Counter, Gauge, type Registry } from 'prom-client';
import { perRegistry } from '@self-healing-shop/resilience';

export const ORDER_OUTCOMES = ['confirmed', 'rejected', 'failed', 'cancelled'] as const;
export type OrderOutcome = (typeof ORDER_OUTCOMES)[number];

export interface OrderMetrics {
  order(outcome: OrderOutcome, count?: number): void;
}

/** `orders_total{outcome}`: each replica counts the transitions it applied (README, "Metrics"). */
export const orderMetrics = perRegistry((registry): OrderMetrics => {
  const counter = new Counter({
    name: 'orders_total',
    help: 'Orders by outcome of the transition this replica applied.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ORDER_OUTCOMES) counter.inc({ outcome }, 0);
  return { order: (outcome, count = 1) => counter.inc({ outcome }, count) };
});

/**
 * `outbox_pending`: outbox messages not delivered yet, counted in the database at scrape time (so
 * every replica reports the same shared backlog). Keeps the last value when the database is away.
 */
export function registerOutboxPendingGauge(
  registry: Registry,
  count: () => Promise<number>,
  onError: (e: unknown) => void,
) {
  if (registry.getSingleMetric('outbox_pending')) return;
  new Gauge({
    name: 'outbox_pending',
    help: 'Outbox messages (order confirmations, stock releases) not delivered yet.',
    registers: [registry],
    async collect() {
      try {
        this.set(await count());
      } catch (error) {
        onError(error);
      }
    },
  });
}
