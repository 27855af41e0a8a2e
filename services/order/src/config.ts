import { z } from 'zod';

const ms = (fallback: number, min = 1) => z.coerce.number().int().min(min).max(3_600_000).default(fallback);
const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** The order service's own variables (README, "Service configuration"), parsed with the kit's base ones. */
export const orderConfigShape = {
  INVENTORY_URL: z.url({ message: 'required: the inventory base URL such as http://inventory' }),
  NOTIFICATION_URL: z.url({ message: 'required: the notification base URL such as http://notification' }),
  INVENTORY_TIMEOUT_MS: ms(1_000),
  INVENTORY_DEADLINE_MS: ms(3_000),
  INVENTORY_MAX_ATTEMPTS: count(3, 10),
  INVENTORY_MAX_CONCURRENT: count(64, 1_000),
  NOTIFICATION_TIMEOUT_MS: ms(1_000),
  NOTIFICATION_MAX_CONCURRENT: count(64, 1_000),
  CIRCUIT_COOL_DOWN_MS: ms(2_000),
  // Gray-failure policies per dependency (dependency-clients.ts, grayFailureSettings).
  INVENTORY_HEDGE_MAX_DELAY_MS: ms(250),
  INVENTORY_MIN_ATTEMPT_MS: ms(100, 0),
  NOTIFICATION_HEDGE_MAX_DELAY_MS: ms(250),
  NOTIFICATION_MIN_ATTEMPT_MS: ms(100, 0),
  INLINE_CONFIRMATION_BUDGET_MS: ms(250, 0),
  OUTBOX_POLL_INTERVAL_MS: ms(500, 10),
  OUTBOX_BATCH_SIZE: count(50, 1_000),
  OUTBOX_LEASE_MS: ms(30_000, 100),
  OUTBOX_INITIAL_BACKOFF_MS: ms(500),
  OUTBOX_MAX_BACKOFF_MS: ms(30_000),
  PENDING_ORDER_TIMEOUT_MS: ms(10_000, 100),
  SWEEP_INTERVAL_MS: ms(2_000, 10),
};
