import {
  DependencyHttpError,
  type CircuitState,
  type HealthCheck,
  type HttpClient,
} from '@self-healing-shop/resilience';
import type { FieldProblem } from '@self-healing-shop/service-kit';
import { InsufficientStockError, UnknownProductError } from './errors.ts';
import type { OrderLine } from './order-store.ts';
import type { OrderItem } from './schemas.ts';

export type { CircuitState } from '@self-healing-shop/resilience';

/** Inventory gave up this order id (released before, e.g. by the recovery sweeper): it can never reserve again. */
export class ReservationReleasedError extends Error {
  readonly orderId: string;

  constructor(orderId: string) {
    super(`inventory: the reservation of order ${orderId} was released`);
    this.name = 'ReservationReleasedError';
    this.orderId = orderId;
  }
}

export interface Reservation {
  readonly items: readonly OrderLine[];
  readonly totalCents: number | null;
}

export interface InventoryClient {
  readonly circuitState: CircuitState;
  /**
   * Reserves the items for the order, idempotently on `orderId` (so retried safely). Throws
   * InsufficientStockError (409), UnknownProductError (404), ReservationReleasedError, or the
   * resilience errors of the call (circuit open, timeout, 5xx, network: DependencyHttpError).
   */
  reserve(orderId: string, items: readonly OrderItem[], requestId?: string): Promise<Reservation>;
  /** Gives the stock back; idempotent. `unknown`: inventory never reserved it (and now never will). */
  release(orderId: string, requestId?: string): Promise<'released' | 'unknown'>;
  healthCheck(): HealthCheck;
  onCircuitStateChange(listener: (change: { from: CircuitState; to: CircuitState }) => void): {
    dispose(): void;
  };
  dispose(): void;
}

interface ReservationBody {
  items?: Array<{ productId: string; quantity: number; priceCents?: number; unitPriceCents?: number }>;
  totalCents?: number;
}

interface ProblemBody {
  type?: string;
  detail?: string;
  errors?: FieldProblem[];
}

function problemOf(error: DependencyHttpError): ProblemBody {
  return typeof error.body === 'object' && error.body !== null ? (error.body as ProblemBody) : {};
}

/** The product named by a problem path such as `items.2.quantity` (inventory gets the items in our order). */
function productsNamed(problem: ProblemBody, items: readonly OrderItem[]): string[] {
  return (problem.errors ?? []).map((e) => {
    const index = /^items\.(\d+)\./.exec(e.path)?.[1];
    return (index === undefined ? undefined : items[Number(index)]?.productId) ?? e.message;
  });
}

/**
 * Inventory's internal API (README, "Internal HTTP APIs") over the resilient client of dependency `inventory`.
 * Reserve (POST with an Idempotency-Key, idempotent on the order id) and release (DELETE) are both safe to
 * send twice, so the client hedges them and retries them on a fresh connection (dependency-clients.ts).
 * A RetriesExhaustedError with reason `circuit-open` means an attempt was sent: it may have reserved.
 */
export function createInventoryClient(http: HttpClient): InventoryClient {
  return {
    get circuitState() {
      return http.circuitState;
    },
    async reserve(orderId, items, requestId) {
      try {
        const { data } = await http.post<ReservationBody>(
          '/reservations',
          { orderId, items: items.map(({ productId, quantity }) => ({ productId, quantity })) },
          { idempotencyKey: `reserve:${orderId}`, ...(requestId ? { requestId } : {}) },
        );
        const lines: OrderLine[] = items.map(({ productId, quantity }) => {
          const reserved = data?.items?.find((i) => i.productId === productId);
          const unitPriceCents = reserved?.unitPriceCents ?? reserved?.priceCents;
          return typeof unitPriceCents === 'number'
            ? { productId, quantity, unitPriceCents }
            : { productId, quantity };
        });
        const priced = lines.every((l) => l.unitPriceCents !== undefined);
        const totalCents =
          typeof data?.totalCents === 'number'
            ? data.totalCents
            : priced
              ? lines.reduce((sum, l) => sum + (l.unitPriceCents ?? 0) * l.quantity, 0)
              : null;
        return { items: lines, totalCents };
      } catch (error) {
        if (!(error instanceof DependencyHttpError)) throw error;
        const problem = problemOf(error);
        if (error.status === 409 && problem.type === 'urn:problem:insufficient-stock') {
          const products = productsNamed(problem, items);
          throw new InsufficientStockError(
            `Not enough stock for ${products.join(', ')}: ${(problem.errors ?? []).map((e) => e.message).join('; ')}`,
            problem.errors ?? [],
          );
        }
        if (error.status === 404) {
          const products = productsNamed(problem, items);
          throw new UnknownProductError(
            `Unknown product${products.length === 1 ? '' : 's'}: ${products.join(', ')}`,
            problem.errors ?? [],
          );
        }
        if (error.status === 409 && problem.type === 'urn:problem:reservation-released') {
          throw new ReservationReleasedError(orderId);
        }
        throw error;
      }
    },
    async release(orderId, requestId) {
      try {
        await http.delete(`/reservations/${encodeURIComponent(orderId)}`, requestId ? { requestId } : {});
        return 'released';
      } catch (error) {
        if (error instanceof DependencyHttpError && error.status === 404) return 'unknown';
        throw error;
      }
    },
    healthCheck: () => http.healthCheck(),
    onCircuitStateChange: (listener) => http.policy.onCircuitStateChange(listener),
    dispose: () => http.dispose(),
  };
}
