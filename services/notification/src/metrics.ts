import { Counter, type Registry } from 'prom-client';
import { NOTIFICATION_CHANNELS } from './schemas.ts';

export const NOTIFICATION_OUTCOMES = ['sent', 'duplicate', 'failed'] as const;
export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];

export interface NotificationMetrics {
  readonly notifications: Counter<'outcome' | 'channel'>;
}

const NAME = 'notifications_total';

/** `notifications_total{outcome,channel}`; every series starts at 0 so rates exist from the start. */
export function createNotificationMetrics(registry: Registry): NotificationMetrics {
  const existing = registry.getSingleMetric(NAME) as Counter<'outcome' | 'channel'> | undefined;
  if (existing) return { notifications: existing };
  const notifications = new Counter({
    name: NAME,
    help: 'Notification requests by outcome (sent, duplicate, failed) and channel.',
    labelNames: ['outcome', 'channel'],
    registers: [registry],
  });
  for (const outcome of NOTIFICATION_OUTCOMES) {
    for (const channel of NOTIFICATION_CHANNELS) notifications.inc({ outcome, channel }, 0);
  }
  return { notifications };
}
