import { hostname } from 'node:os';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { activeTraceIds } from './tracing/trace-context.ts';

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LevelWithSilent;
  readonly pod?: string;
  /** Defaults to stdout; tests pass a stream to read the lines. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * JSON lines with `service` and `pod` on every line; errors serialised under `err`; `trace_id`,
 * `span_id` and `trace_flags` on every line written inside a span (nothing when tracing is off).
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pod: options.pod ?? hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => activeTraceIds() ?? {},
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
