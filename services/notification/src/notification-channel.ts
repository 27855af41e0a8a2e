import type { Logger } from 'pino';
import type { Notification } from './notification-store.ts';

/** Delivers a notification; throws when it could not. */
export interface NotificationChannel {
  send(notification: Notification): Promise<void>;
}

/** The platform's email channel: one structured log line per notification sent. */
export function createLogChannel(logger: Logger): NotificationChannel {
  return {
    async send(notification) {
      const { id, orderId, kind, channel, recipient } = notification;
      logger.info({ notificationId: id, orderId, kind, channel, recipient }, 'notification sent');
    },
  };
}
