import { createServer, type Server } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  createFaultInjection,
  type FaultInjection,
  type FaultInjectionOptions,
} from '../src/fault-injection.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

export interface TestApp {
  readonly server: Server;
  readonly faults: FaultInjection;
  readonly registry: Registry;
  readonly lines: LogLine[];
  close(): Promise<void>;
}

/** A tiny Express 5 app with the fault injection mounted, listening on 127.0.0.1 with a free port. */
export async function startApp(options: Partial<FaultInjectionOptions> = {}): Promise<TestApp> {
  const registry = new Registry();
  const { logger, lines } = capturingLogger();
  const faults = createFaultInjection({ enabled: true, registry, logger, ...options });
  const app = express();
  app.use(faults.adminRouter);
  app.use(faults.middleware);
  for (const path of ['/health', '/ready', '/metrics']) app.get(path, (_req, res) => void res.send('ok'));
  app.get('/orders', (_req, res) => void res.json({ items: [] }));
  app.get('/orders/:id', (req, res) => void res.json({ id: req.params.id }));
  app.post('/orders', (_req, res) => void res.status(201).json({ id: 'o-1' }));
  app.get('/orders-archive', (_req, res) => void res.json({ items: [] }));
  app.get('/products', (_req, res) => void res.json({ items: [] }));
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    faults,
    registry,
    lines,
    async close() {
      faults.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

export async function injectedCounts(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('faults_injected_total');
  if (!metric) throw new Error('faults_injected_total is not registered');
  const { values } = await metric.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.type), v.value]));
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
