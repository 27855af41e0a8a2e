import { hostname } from 'node:os';
import { z } from 'zod';
import { TRACING_ENV } from '@self-healing-shop/contracts';
import { ConfigError } from '../config.ts';

/** The samplers of OTEL_TRACES_SAMPLER this platform accepts (names from the OpenTelemetry spec). */
export const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/**
 * The share of new traces recorded when OTEL_TRACES_SAMPLER_ARG is not set: 1 %. Chosen with
 * `pnpm --filter @self-healing-shop/order bench:tracing` (order README, "Tracing": at 0.1 the traced
 * tenth alone cost about 5 % of the throughput); a request that arrives with a sampled `traceparent`
 * is always recorded, whatever the ratio.
 */
export const DEFAULT_SAMPLE_RATIO = 0.01;

/**
 * The sampler when OTEL_TRACES_SAMPLER is not set. A service at the edge (order: clients call it)
 * starts new traces at the ratio; a service only other services call (inventory, notification) follows
 * its caller's decision and starts none, so that an order its edge did not sample leaves no partial
 * trace of its own further in.
 */
export function defaultSampler(startsTraces: boolean): TracesSampler {
  return startsTraces ? 'parentbased_traceidratio' : 'parentbased_always_off';
}

export interface TracingConfig {
  /** OTLP/HTTP base URL; spans are posted to `<endpoint>/v1/traces`. */
  readonly endpoint: string;
  readonly serviceName: string;
  /** `service.instance.id`: the replica (POD_NAME, else the host name), as the logs' `pod`. */
  readonly instanceId: string;
  readonly sampler: TracesSampler;
  readonly ratio: number;
  /** Milliseconds between two exports of the batched spans. */
  readonly batchDelayMs: number;
}

/** Shorter than OTel's 5 s default, so that a trace shows in the console about a second after the order. */
export const DEFAULT_BATCH_DELAY_MS = 1_000;

const schema = z.object({
  [TRACING_ENV.endpoint]: z
    .string()
    .trim()
    .url('expected an http(s) URL such as http://127.0.0.1:7070')
    .regex(/^https?:\/\//, 'expected an http(s) URL such as http://127.0.0.1:7070')
    .optional()
    .or(z.literal('')),
  [TRACING_ENV.serviceName]: z.string().trim().min(1).optional(),
  [TRACING_ENV.sampler]: z
    .enum(TRACES_SAMPLERS, { message: `expected one of ${TRACES_SAMPLERS.join(', ')}` })
    .optional(),
  [TRACING_ENV.samplerArg]: z.coerce
    .number({ message: 'expected a ratio between 0 and 1' })
    .min(0, 'expected a ratio between 0 and 1')
    .max(1, 'expected a ratio between 0 and 1')
    .default(DEFAULT_SAMPLE_RATIO),
  [TRACING_ENV.exporter]: z.enum(['otlp', 'none'], { message: 'expected otlp or none' }).default('otlp'),
  [TRACING_ENV.batchDelay]: z.coerce
    .number({ message: 'expected milliseconds' })
    .int('expected whole milliseconds')
    .min(1, 'expected at least 1 ms')
    .max(60_000, 'expected at most 60000 ms')
    .default(DEFAULT_BATCH_DELAY_MS),
});

/**
 * Reads the standard OpenTelemetry variables. Undefined means tracing is off: no endpoint, or
 * OTEL_TRACES_EXPORTER=none. A bad value throws a ConfigError naming the variable.
 */
export function tracingConfig(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
  startsTraces = true,
): TracingConfig | undefined {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const v = result.data;
  const endpoint = v[TRACING_ENV.endpoint];
  if (!endpoint || v[TRACING_ENV.exporter] === 'none') return undefined;
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    serviceName: v[TRACING_ENV.serviceName] ?? service,
    instanceId: env.POD_NAME || hostname(),
    sampler: v[TRACING_ENV.sampler] ?? defaultSampler(startsTraces),
    ratio: v[TRACING_ENV.samplerArg],
    batchDelayMs: v[TRACING_ENV.batchDelay],
  };
}
