import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createConsoleApp } from './app.ts';

export interface ConsoleOptions {
  /** 0 picks a free port; the runtime uses LOCAL_PORTS.console (3000). */
  readonly port: number;
  /** Default 127.0.0.1: the console shows the platform's internals and is for this machine only. */
  readonly host?: string;
  readonly controlUrl: string;
  readonly prometheusUrl: string | null;
  /** The local Alertmanager (default null: the Alerts panel says how to install it). */
  readonly alertmanagerUrl?: string | null;
  readonly dashboardsDir: string;
  readonly reportsDir: string;
  readonly logger?: Logger;
}

export interface ConsoleHandle {
  readonly url: string;
  close(): Promise<void>;
}

function checkUrl(name: string, value: string): void {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new Error(`console: ${name} must be an http(s) URL, got "${value}"`);
  }
}

/** Starts the console's HTTP server; resolves once it listens. */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleHandle> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new Error(`console: port must be an integer from 0 to 65535, got ${options.port}`);
  }
  checkUrl('controlUrl', options.controlUrl);
  if (options.prometheusUrl !== null) checkUrl('prometheusUrl', options.prometheusUrl);
  const alertmanagerUrl = options.alertmanagerUrl ?? null;
  if (alertmanagerUrl !== null) checkUrl('alertmanagerUrl', alertmanagerUrl);
  const logger = options.logger ?? pino({ name: 'console' });
  const app = createConsoleApp({
    controlUrl: options.controlUrl.replace(/\/+$/, ''),
    prometheusUrl: options.prometheusUrl?.replace(/\/+$/, '') ?? null,
    alertmanagerUrl: alertmanagerUrl?.replace(/\/+$/, '') ?? null,
    dashboardsDir: options.dashboardsDir,
    reportsDir: options.reportsDir,
    logger,
  });
  const host = options.host ?? '127.0.0.1';
  const server = app.listen(options.port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`console: port ${options.port} on ${host} is taken; pass another port`, {
              cause: error,
            })
          : error,
      ),
    );
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url }, 'console listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Event streams never end by themselves: close them with the server.
        server.closeAllConnections();
      }),
  };
}
