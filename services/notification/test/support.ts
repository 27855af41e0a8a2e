import { Writable } from 'node:stream';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import {
  createPool,
  createServiceContext,
  databaseHealthCheck,
  type Pool,
} from '@self-healing-shop/service-kit';
import { createApp, migrateNotification, type NotificationChannel } from '../src/app.ts';

export interface TestNotification {
  readonly app: Express;
  readonly pool: Pool;
  readonly registry: Registry;
  /** Parsed log lines of this replica. */
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** One notification replica in-process, with its own pool, registry and captured logs. */
export async function startNotification(
  url: string,
  options: {
    channels?: { email?: NotificationChannel };
    adminToken?: string;
    faultInjection?: boolean;
    defaultMetrics?: boolean;
  } = {},
): Promise<TestNotification> {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      callback();
    },
  });
  const { logger, registry, health, faults } = createServiceContext({
    service: 'notification',
    logLevel: 'info',
    defaultMetrics: options.defaultMetrics ?? false,
    faultInjection: { enabled: options.faultInjection ?? false },
    adminToken: options.adminToken,
    logDestination: destination,
  });
  const pool = createPool({ connectionString: url, logger, application: 'notification-test' });
  await migrateNotification(pool, logger);
  health.register(databaseHealthCheck(pool));
  const app = createApp({
    pool,
    logger,
    registry,
    health,
    faults,
    adminToken: options.adminToken,
    ...(options.channels ? { channels: options.channels } : {}),
  });
  return {
    app,
    pool,
    registry,
    logs,
    close: async () => {
      faults.dispose();
      await pool.end();
    },
  };
}

export function sentLogs(replica: TestNotification, orderId: string): Array<Record<string, unknown>> {
  return replica.logs.filter((l) => l.msg === 'notification sent' && l.orderId === orderId);
}

export async function countRows(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM notification.notifications');
  return Number(rows[0]?.n);
}

export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

let sequence = 0;
export function orderId(prefix = 'ord'): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`;
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
