import { ConfigError } from '../config.ts';
import { tracingConfig, type TracingConfig } from './tracing-config.ts';

export interface StartTracingOptions {
  /** The default `service.name` (OTEL_SERVICE_NAME overrides it). */
  readonly service: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Whether a request without a `traceparent` may start a new trace (the edge service); false for the
   * services only other services call (`defaultSampler`). OTEL_TRACES_SAMPLER overrides it.
   */
  readonly startsTraces?: boolean;
}

let running: { shutdown(): Promise<void> } | undefined;

/**
 * Starts OpenTelemetry, before the service creates its app and pools (main.ts awaits it, then imports
 * the rest): the server spans' middleware and the query spans are set up for what is created after.
 * Without an endpoint it does nothing (the SDK is never loaded: no cost).
 *
 * Returns false when the configuration is bad (reported on stderr, exit code 1): main.ts stops.
 */
export async function startTracing(options: StartTracingOptions): Promise<boolean> {
  let config: TracingConfig | undefined;
  try {
    config = tracingConfig(options.service, options.env, options.startsTraces ?? true);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', service: options.service, problems: error.problems, msg: error.message })}\n`,
    );
    process.exitCode = 1;
    return false;
  }
  if (!config || running) return true;
  const { startSdk } = await import('./tracing-sdk.ts');
  running = startSdk(config);
  return true;
}

/** Sends the spans still buffered and stops the SDK (the last step of a graceful shutdown). */
export async function stopTracing(): Promise<void> {
  const sdk = running;
  running = undefined;
  await sdk?.shutdown();
}
