import { listPageFields } from '@self-healing-shop/service-kit';
import { z } from 'zod';

export const NOTIFICATION_KINDS = ['order-confirmation'] as const;
export const NOTIFICATION_CHANNELS = ['email'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export type ChannelName = (typeof NOTIFICATION_CHANNELS)[number];

/** Order ids come from the order service: UUIDs or similar, safe in a URL. */
export const orderIdSchema = z
  .string({ error: 'expected a string' })
  .regex(/^[\w.:-]{1,128}$/, 'expected 1 to 128 letters, digits or . _ : -');

/** Unknown fields are rejected (400) so that a typo never passes silently. */
export const createNotificationSchema = z.strictObject({
  orderId: orderIdSchema,
  kind: z.enum(NOTIFICATION_KINDS, { error: `expected one of ${NOTIFICATION_KINDS.join(', ')}` }),
  channel: z.enum(NOTIFICATION_CHANNELS, { error: `expected one of ${NOTIFICATION_CHANNELS.join(', ')}` }),
  // WHATWG's address syntax (as <input type=email>): accepts every address the order service accepts.
  recipient: z
    .email({ pattern: z.regexes.html5Email, error: 'expected an email address' })
    .max(254, 'expected at most 254 characters'),
  payload: z.record(z.string(), z.unknown(), { error: 'expected an object' }).optional(),
});

export type CreateNotification = z.infer<typeof createNotificationSchema>;

export const listQuerySchema = z.object({
  orderId: orderIdSchema.optional(),
  ...listPageFields,
});

export const notificationIdSchema = z.uuid();
