import { Writable } from 'node:stream';
import type { Express } from 'express';
import type { Pool } from '@self-healing-shop/service-kit';
import {
  startTestReplica,
  type TestReplica,
  type TestReplicaOptions,
} from '@self-healing-shop/service-kit/testing';
import { createApp, migrateNotification, type NotificationChannel } from '../src/app.ts';

export { counterValue, uniqueId as orderId } from '@self-healing-shop/service-kit/testing';

export interface TestNotification extends TestReplica<Express> {
  /** Parsed log lines of this replica. */
  readonly logs: Array<Record<string, unknown>>;
}

/** One notification replica in-process, with its own pool, registry and captured logs. */
export async function startNotification(
  url: string,
  options: Omit<TestReplicaOptions, 'migrate' | 'logLevel' | 'logDestination'> & {
    channels?: { email?: NotificationChannel };
  } = {},
): Promise<TestNotification> {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      callback();
    },
  });
  const { channels, ...replicaOptions } = options;
  const replica = await startTestReplica(
    'notification',
    url,
    {
      migrate: migrateNotification,
      build: (deps) => createApp({ ...deps, ...(channels ? { channels } : {}) }),
    },
    { ...replicaOptions, logLevel: 'info', logDestination: destination },
  );
  return { ...replica, logs };
}

export function sentLogs(replica: TestNotification, orderId: string): Array<Record<string, unknown>> {
  return replica.logs.filter((l) => l.msg === 'notification sent' && l.orderId === orderId);
}

export async function countRows(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM notification.notifications');
  return Number(rows[0]?.n);
}

export function body(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    orderId: id,
    kind: 'order-confirmation',
    channel: 'email',
    recipient: 'ada@example.com',
    payload: { totalCents: 2499, items: [{ productId: 'p-001', quantity: 1 }] },
    ...overrides,
  };
}
