import { hostname } from 'node:os';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LevelWithSilent;
  readonly pod?: string;
  /** Defaults to stdout; tests pass a stream to read the lines. */
  readonly destination?: NodeJS.WritableStream;
}

/** JSON lines with `service` and `pod` on every line; errors serialised under `err`. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pod: options.pod ?? hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
