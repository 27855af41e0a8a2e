import { z } from 'zod';

export const FAULT_TYPES = ['latency', 'error', 'abort', 'cpu', 'freeze'] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export const FAULT_HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type FaultHttpMethod = (typeof FAULT_HTTP_METHODS)[number];

/** What a client asks for (the body of `POST /admin/faults`). */
export interface FaultSpec {
  readonly type: FaultType;
  /** Path prefix, matched on whole segments (`/orders` matches `/orders/1`, not `/orders-x`). */
  readonly route?: string;
  /** Case-insensitive; any method when absent. */
  readonly method?: string;
  /** 0..1, default 1. */
  readonly probability?: number;
  /** Required for `latency`. */
  readonly latencyMs?: number;
  /** `error` only; default 503. */
  readonly status?: number;
  /** The fault expires after it; required for `cpu` (how long to burn) and `freeze` (how long to block). */
  readonly durationMs?: number;
}

/** An active fault, as listed by `GET /admin/faults`. */
export interface Fault {
  readonly id: string;
  readonly type: FaultType;
  readonly route?: string;
  readonly method?: FaultHttpMethod;
  readonly probability: number;
  readonly latencyMs?: number;
  readonly status?: number;
  readonly durationMs?: number;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601, or null for a fault that stays until deleted. */
  readonly expiresAt: string | null;
}

export interface FaultSpecProblem {
  readonly path: string;
  readonly message: string;
}

/** A fault spec that fails validation; `errors` name each bad field. */
export class InvalidFaultSpecError extends Error {
  readonly errors: readonly FaultSpecProblem[];

  constructor(errors: readonly FaultSpecProblem[]) {
    const first = errors[0];
    super(`invalid fault: ${first ? `${first.path}: ${first.message}` : 'invalid'}`);
    this.name = 'InvalidFaultSpecError';
    this.errors = errors;
  }
}

/** A fault spec with its defaults applied. */
export type ValidFaultSpec = Omit<Fault, 'id' | 'createdAt' | 'expiresAt'>;

const HOUR_MS = 3_600_000;

const milliseconds = (field: string, min: number) =>
  z
    .number(`${field} must be a number of milliseconds`)
    .int(`${field} must be an integer`)
    .min(min, `${field} must be >= ${min}`)
    .max(HOUR_MS, `${field} must be <= ${HOUR_MS} (one hour)`);

/** Which optional fields each type accepts; anything else is rejected rather than silently ignored. */
const FIELDS_BY_TYPE: Readonly<Record<FaultType, readonly (keyof FaultSpec)[]>> = {
  latency: ['route', 'method', 'probability', 'latencyMs', 'durationMs'],
  error: ['route', 'method', 'probability', 'status', 'durationMs'],
  abort: ['route', 'method', 'probability', 'durationMs'],
  // A CPU burn runs in the background for the whole process: no request selects it.
  cpu: ['durationMs'],
  // A freeze blocks the whole event loop: nothing is answered, whatever the route.
  freeze: ['durationMs'],
};

const faultSpecSchema = z
  .strictObject({
    type: z.enum(FAULT_TYPES, `type must be one of ${FAULT_TYPES.join(', ')}`),
    route: z
      .string('route must be a string')
      .max(200, 'route must be at most 200 characters')
      .regex(/^\/[^\s?#]*$/, 'route must be a path starting with "/" (no query string)')
      .optional(),
    method: z
      .preprocess(
        (value) => (typeof value === 'string' ? value.toUpperCase() : value),
        z.enum(FAULT_HTTP_METHODS, `method must be one of ${FAULT_HTTP_METHODS.join(', ')}`),
      )
      .optional(),
    probability: z
      .number('probability must be a number')
      .min(0, 'probability must be between 0 and 1')
      .max(1, 'probability must be between 0 and 1')
      .optional(),
    latencyMs: milliseconds('latencyMs', 1).optional(),
    status: z
      .number('status must be a number')
      .int('status must be an integer')
      .min(400, 'status must be an HTTP error status (400..599)')
      .max(599, 'status must be an HTTP error status (400..599)')
      .optional(),
    durationMs: milliseconds('durationMs', 1).optional(),
  })
  .superRefine((spec, ctx) => {
    const allowed = FIELDS_BY_TYPE[spec.type];
    for (const field of ['route', 'method', 'probability', 'latencyMs', 'status', 'durationMs'] as const) {
      if (spec[field] !== undefined && !allowed.includes(field)) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} does not apply to ${spec.type} faults`,
        });
      }
    }
    if (spec.type === 'latency' && spec.latencyMs === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['latencyMs'],
        message: 'latencyMs is required for a latency fault',
      });
    }
    if ((spec.type === 'cpu' || spec.type === 'freeze') && spec.durationMs === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['durationMs'],
        message: `durationMs is required for a ${spec.type} fault`,
      });
    }
  });

/** Validates a spec from an untrusted source and applies the defaults; throws InvalidFaultSpecError. */
export function parseFaultSpec(input: unknown): ValidFaultSpec {
  const result = faultSpecSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidFaultSpecError(
      result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({
              path: [...issue.path, key].join('.'),
              message: `unknown field "${key}"`,
            }))
          : [
              {
                path: issue.path.length > 0 ? issue.path.join('.') : '(root)',
                message: issue.path.length > 0 ? issue.message : 'the body must be a JSON object',
              },
            ],
      ),
    );
  }
  const spec = result.data;
  return {
    type: spec.type,
    ...(spec.route !== undefined ? { route: spec.route } : {}),
    ...(spec.method !== undefined ? { method: spec.method } : {}),
    probability: spec.probability ?? 1,
    ...(spec.latencyMs !== undefined ? { latencyMs: spec.latencyMs } : {}),
    ...(spec.type === 'error' ? { status: spec.status ?? 503 } : {}),
    ...(spec.durationMs !== undefined ? { durationMs: spec.durationMs } : {}),
  };
}
