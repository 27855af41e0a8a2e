import type { Express } from 'express';
import { parseOrThrow } from '@self-healing-shop/service-kit';
import { InsufficientStockError, ReservationNotFoundError } from './errors.ts';
import type { InventoryMetrics } from './metrics.ts';
import type { ReservationStore } from './reservation-store.ts';
import { orderIdSchema, reservationRequestSchema } from './schemas.ts';

function orderIdParam(orderId: string): string {
  // A malformed id cannot name a reservation; checked before any query (and before any tombstone).
  if (!orderIdSchema.safeParse(orderId).success) throw new ReservationNotFoundError(orderId);
  return orderId;
}

export function reservationRoutes(
  app: Express,
  deps: { reservations: ReservationStore; metrics: InventoryMetrics },
): void {
  const { reservations, metrics } = deps;

  app.post('/reservations', async (req, res) => {
    const { orderId, items } = parseOrThrow(reservationRequestSchema, req.body);
    try {
      const { outcome, reservation } = await reservations.reserve(orderId, items);
      metrics.reservations.inc({ outcome });
      if (outcome === 'reserved') req.log.info({ orderId, items }, 'stock reserved');
      res.status(outcome === 'reserved' ? 201 : 200).json(reservation);
    } catch (error) {
      if (error instanceof InsufficientStockError) {
        metrics.reservations.inc({ outcome: 'insufficient_stock' });
        req.log.info({ orderId, errors: error.errors }, 'insufficient stock');
      }
      throw error;
    }
  });

  app.get('/reservations/:orderId', async (req, res) => {
    const reservation = await reservations.get(orderIdParam(req.params.orderId));
    if (!reservation) throw new ReservationNotFoundError(req.params.orderId);
    res.json(reservation);
  });

  app.delete('/reservations/:orderId', async (req, res) => {
    const orderId = orderIdParam(req.params.orderId);
    const result = await reservations.release(orderId);
    if (result.outcome === 'unknown') throw new ReservationNotFoundError(orderId);
    if (result.outcome === 'released') {
      metrics.reservations.inc({ outcome: 'released' });
      req.log.info({ orderId, items: result.reservation.items }, 'stock released');
    }
    res.json(result.reservation);
  });
}
