import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import {
  installGracefulShutdown,
  type GracefulShutdown,
  type HealthRegistry,
} from '@self-healing-shop/resilience';

export interface RunServiceOptions {
  /** The app (an Express app is a request listener). */
  readonly app: RequestListener;
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly health: HealthRegistry;
  readonly shutdownTimeoutMs: number;
  /** Closed in order after the server has drained (workers first, pools last). */
  readonly onClose?: ReadonlyArray<{ readonly name: string; close(): Promise<void> | void }>;
  /** Install SIGTERM/SIGINT handlers that exit the process (true in main.ts, false in tests). */
  readonly handleSignals?: boolean;
}

export interface RunningService {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly shutdown: GracefulShutdown;
}

/** Listens and wires graceful shutdown: readiness 503 at once, drain, close resources, exit 0. */
export async function runService(options: RunServiceOptions): Promise<RunningService> {
  const server = createServer(options.app);
  // Longer than any proxy's idle timeout, so a proxy never reuses a socket we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const shutdown = installGracefulShutdown({
    server,
    logger: options.logger,
    health: options.health,
    timeoutMs: options.shutdownTimeoutMs,
    onClose: options.onClose ?? [],
    signals: options.handleSignals === false ? [] : ['SIGTERM', 'SIGINT'],
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`;
  options.logger.info({ port, host: options.host }, 'listening');
  return { server, port, url, shutdown };
}
