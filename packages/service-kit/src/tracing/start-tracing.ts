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
 * Starts OpenTelemetry before the service's own modules are loaded, and must be awaited before
 * they are imported: instrumentation of ES modules (express, pg, http) only sees the modules loaded
 * after its hooks are registered. main.ts therefore imports only this, then imports the rest
 * dynamically. Without an endpoint it does nothing (no hooks, no SDK loaded: no cost).
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
  // Synchronous module hooks (Node >= 22.22.3 / 24.11.1): intercept only the modules instrumented,
  // in the application thread, so that nothing else pays for the loader.
  const { register } = await import('import-in-the-middle/register-hooks.mjs');
  register({ include: INSTRUMENTED_MODULES });
  const { startSdk } = await import('./tracing-sdk.ts');
  running = startSdk(config);
  return true;
}

/** The modules the SDK instruments (tracing-sdk.ts); HTTP server and client spans are the kit's own. */
const INSTRUMENTED_MODULES = ['pg'];

/** Sends the spans still buffered and stops the SDK (the last step of a graceful shutdown). */
export async function stopTracing(): Promise<void> {
  const sdk = running;
  running = undefined;
  await sdk?.shutdown();
}
