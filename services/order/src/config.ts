import { z } from 'zod';
import { outboxConfigShape } from './outbox/outbox-settings.ts';

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
  // The outbox, the inline confirmation and the sweeper: defaults in outbox/outbox-settings.ts.
  ...outboxConfigShape,
  // Gray-failure policies per dependency (dependency-clients.ts, grayFailureSettings).
  INVENTORY_HEDGE_MAX_DELAY_MS: ms(250),
  INVENTORY_MIN_ATTEMPT_MS: ms(100, 0),
  NOTIFICATION_HEDGE_MAX_DELAY_MS: ms(250),
  NOTIFICATION_MIN_ATTEMPT_MS: ms(100, 0),
};
