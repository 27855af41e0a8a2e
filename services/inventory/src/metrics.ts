import { Counter, type Registry } from 'prom-client';

export const RESERVATION_OUTCOMES = ['reserved', 'duplicate', 'insufficient_stock', 'released'] as const;
export type ReservationOutcome = (typeof RESERVATION_OUTCOMES)[number];

export interface InventoryMetrics {
  readonly reservations: Counter<'outcome'>;
}

const NAME = 'inventory_reservations_total';

/** `inventory_reservations_total{outcome}`; every outcome starts at 0 so rates exist from the start. */
export function createInventoryMetrics(registry: Registry): InventoryMetrics {
  const existing = registry.getSingleMetric(NAME) as Counter<'outcome'> | undefined;
  if (existing) return { reservations: existing };
  const reservations = new Counter({
    name: NAME,
    help: 'Reservation requests by outcome (reserved, duplicate, insufficient_stock, released).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of RESERVATION_OUTCOMES) reservations.inc({ outcome }, 0);
  return { reservations };
}
