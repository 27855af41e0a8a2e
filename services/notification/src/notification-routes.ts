import type { Express } from 'express';
import { parseOrThrow } from '@self-healing-shop/service-kit';
import { DeliveryFailedError, InvalidCursorError, NotificationNotFoundError } from './errors.ts';
import type { NotificationMetrics } from './metrics.ts';
import type { NotificationChannel } from './notification-channel.ts';
import type { NotificationStore } from './notification-store.ts';
import {
  createNotificationSchema,
  listQuerySchema,
  notificationIdSchema,
  type ChannelName,
} from './schemas.ts';

const CURSOR = /^n:([1-9]\d{0,18})$/;

function encodeCursor(seq: string): string {
  return Buffer.from(`n:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match?.[1] || encodeCursor(match[1]) !== cursor) throw new InvalidCursorError();
  return match[1];
}

export function notificationRoutes(
  app: Express,
  deps: {
    store: NotificationStore;
    channels: Readonly<Record<ChannelName, NotificationChannel>>;
    metrics: NotificationMetrics;
  },
): void {
  const { store, channels, metrics } = deps;

  app.post('/notifications', async (req, res) => {
    const input = parseOrThrow(createNotificationSchema, req.body);
    const channel = channels[input.channel];
    try {
      const { outcome, notification } = await store.create(input, async (notification) => {
        try {
          await channel.send(notification);
        } catch (error) {
          throw new DeliveryFailedError(input.channel, input.orderId, error);
        }
      });
      metrics.notifications.inc({ outcome, channel: input.channel });
      res.status(outcome === 'sent' ? 201 : 200).json(notification);
    } catch (error) {
      if (error instanceof DeliveryFailedError) {
        metrics.notifications.inc({ outcome: 'failed', channel: input.channel });
        req.log.warn(
          { err: error.cause, orderId: input.orderId, channel: input.channel },
          'notification failed',
        );
      }
      throw error;
    }
  });

  app.get('/notifications', async (req, res) => {
    const query = parseOrThrow(listQuerySchema, req.query, 'query');
    if (query.orderId !== undefined) {
      res.json({ items: await store.listByOrder(query.orderId) });
      return;
    }
    const page = await store.list({
      limit: query.limit,
      beforeSeq: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    res.json({
      items: page.items,
      ...(page.hasMore && page.lastSeq ? { nextCursor: encodeCursor(page.lastSeq) } : {}),
    });
  });

  app.get('/notifications/:id', async (req, res) => {
    const { id } = req.params;
    // A malformed id names no notification (and must not reach a uuid cast in SQL).
    const notification = notificationIdSchema.safeParse(id).success ? await store.get(id) : undefined;
    if (!notification) throw new NotificationNotFoundError(id);
    res.json(notification);
  });
}
