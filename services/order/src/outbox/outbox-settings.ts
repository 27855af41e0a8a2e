import { z } from 'zod';
import type { OrderSweeperOptions } from './order-sweeper.ts';
import type { OutboxDispatcherOptions } from './outbox-dispatcher.ts';

/** Everything that paces the outbox and the recovery of pending orders, in one place. */
export interface OutboxSettings {
  readonly dispatcher: OutboxDispatcherOptions;
  readonly sweeper: OrderSweeperOptions;
  /** How long POST /orders waits for its confirmation to be sent before answering `queued`. */
  readonly inlineConfirmationBudgetMs: number;
}

export interface OutboxOverrides {
  readonly dispatcher?: Partial<OutboxDispatcherOptions>;
  readonly sweeper?: Partial<OrderSweeperOptions>;
  readonly inlineConfirmationBudgetMs?: number;
}

/** The defaults: the only place these numbers live (the environment's defaults are read from here). */
export const DEFAULT_OUTBOX_SETTINGS: OutboxSettings = {
  dispatcher: {
    batchSize: 50,
    pollIntervalMs: 500,
    // Far above a delivery's deadline: a live dispatcher never loses its row to another.
    leaseMs: 30_000,
    initialBackoffMs: 500,
    maxBackoffMs: 30_000,
  },
  sweeper: {
    // Far above the reservation call's deadline, so that no live request is overtaken.
    pendingTimeoutMs: 10_000,
    intervalMs: 2_000,
    batchSize: 100,
  },
  inlineConfirmationBudgetMs: 250,
};

/** The settings with `overrides` applied over the defaults. */
export function outboxSettings(overrides: OutboxOverrides = {}): OutboxSettings {
  return {
    dispatcher: { ...DEFAULT_OUTBOX_SETTINGS.dispatcher, ...overrides.dispatcher },
    sweeper: { ...DEFAULT_OUTBOX_SETTINGS.sweeper, ...overrides.sweeper },
    inlineConfirmationBudgetMs:
      overrides.inlineConfirmationBudgetMs ?? DEFAULT_OUTBOX_SETTINGS.inlineConfirmationBudgetMs,
  };
}

const { dispatcher: d, sweeper: w } = DEFAULT_OUTBOX_SETTINGS;
const ms = (fallback: number, min = 1) => z.coerce.number().int().min(min).max(3_600_000).default(fallback);
const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** The outbox's environment variables (README, "Service configuration"), defaulting to the settings above. */
export const outboxConfigShape = {
  INLINE_CONFIRMATION_BUDGET_MS: ms(DEFAULT_OUTBOX_SETTINGS.inlineConfirmationBudgetMs, 0),
  OUTBOX_POLL_INTERVAL_MS: ms(d.pollIntervalMs, 10),
  OUTBOX_BATCH_SIZE: count(d.batchSize, 1_000),
  OUTBOX_LEASE_MS: ms(d.leaseMs, 100),
  OUTBOX_INITIAL_BACKOFF_MS: ms(d.initialBackoffMs),
  OUTBOX_MAX_BACKOFF_MS: ms(d.maxBackoffMs),
  PENDING_ORDER_TIMEOUT_MS: ms(w.pendingTimeoutMs, 100),
  SWEEP_INTERVAL_MS: ms(w.intervalMs, 10),
};

type OutboxConfig = z.infer<z.ZodObject<typeof outboxConfigShape>>;

/** The settings main.ts reads from the environment. */
export function outboxSettingsFromConfig(config: OutboxConfig): OutboxSettings {
  return outboxSettings({
    inlineConfirmationBudgetMs: config.INLINE_CONFIRMATION_BUDGET_MS,
    dispatcher: {
      pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      batchSize: config.OUTBOX_BATCH_SIZE,
      leaseMs: config.OUTBOX_LEASE_MS,
      initialBackoffMs: config.OUTBOX_INITIAL_BACKOFF_MS,
      maxBackoffMs: config.OUTBOX_MAX_BACKOFF_MS,
    },
    sweeper: { pendingTimeoutMs: config.PENDING_ORDER_TIMEOUT_MS, intervalMs: config.SWEEP_INTERVAL_MS },
  });
}
