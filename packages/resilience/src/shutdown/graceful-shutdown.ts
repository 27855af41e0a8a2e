import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HealthRegistry } from '../health/health-registry.ts';

export interface GracefulShutdownOptions {
  readonly server: Server;
  readonly logger: Logger;
  /** Readiness turns 503 at once through it. */
  readonly health?: HealthRegistry;
  /** How long in-flight requests may take to finish before their connections are cut. */
  readonly timeoutMs: number;
  /** Run after the server has closed, in order (stop workers, close pools). */
  readonly onClose?: ReadonlyArray<{ readonly name: string; close(): Promise<void> | void }>;
  readonly signals?: readonly NodeJS.Signals[];
  /** Injected for tests; defaults to the real process. */
  readonly process?: Pick<NodeJS.Process, 'once' | 'removeListener' | 'exit'>;
}

export interface GracefulShutdown {
  /** Starts the shutdown (idempotent); resolves with the exit code once everything is closed. */
  shutdown(reason: string): Promise<number>;
  readonly shuttingDown: boolean;
  /** Removes the signal handlers. */
  dispose(): void;
}

/**
 * On SIGTERM/SIGINT: readiness turns 503 at once, the server stops accepting connections, idle
 * keep-alive connections close, in-flight requests drain up to the deadline (then their connections
 * are cut), the resources close in order and the process exits 0 (1 if a resource failed to close).
 */
export function installGracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  const proc = options.process ?? process;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const { server, logger } = options;
  let pending: Promise<number> | undefined;

  // While draining, tell keep-alive clients to reconnect elsewhere: responses not yet started get
  // `Connection: close`, whether their request came before or after the signal.
  const open = new Set<ServerResponse>();
  const track = (_req: IncomingMessage, res: ServerResponse) => {
    if (pending) {
      res.shouldKeepAlive = false;
      return;
    }
    open.add(res);
    res.once('close', () => open.delete(res));
  };
  server.prependListener('request', track);

  const shutdown = (reason: string): Promise<number> => {
    pending ??= run(reason);
    return pending;
  };

  async function run(reason: string): Promise<number> {
    const started = Date.now();
    logger.info({ reason, timeoutMs: options.timeoutMs }, 'shutdown started');
    options.health?.markShuttingDown();
    for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), options.timeoutMs);
    });
    const drained = await Promise.race([closed.then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    if (drained === 'deadline') {
      logger.warn({ timeoutMs: options.timeoutMs }, 'drain deadline passed: closing remaining connections');
      server.closeAllConnections();
      await closed;
    }
    let code = 0;
    for (const resource of options.onClose ?? []) {
      try {
        await resource.close();
      } catch (error) {
        code = 1;
        logger.error({ err: error, resource: resource.name }, 'resource failed to close');
      }
    }
    logger.info({ reason, durationMs: Date.now() - started, exitCode: code }, 'shutdown finished');
    return code;
  }

  const onSignal = (signal: NodeJS.Signals) => {
    void shutdown(signal).then((code) => proc.exit(code));
  };
  for (const signal of signals) proc.once(signal, onSignal);

  return {
    shutdown,
    get shuttingDown() {
      return pending !== undefined;
    },
    dispose() {
      for (const signal of signals) proc.removeListener(signal, onSignal);
      server.removeListener('request', track);
    },
  };
}
