import { z } from 'zod';
import { ADMIN_TOKEN_ENV } from '@self-healing-shop/contracts';

export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Variables every service reads (see README, "Service configuration"). */
export const baseConfigShape = {
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string({ message: 'required: a PostgreSQL URL such as postgres://user:pass@host:5432/db' })
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  POD_NAME: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  FAULT_INJECTION_ENABLED: bool.default(false),
  /** Guards `/admin/*` (faults and audit), sent in the `x-admin-token` header; no token, no admin API. */
  [ADMIN_TOKEN_ENV]: z.string().trim().min(8, 'expected at least 8 characters').optional(),
};

/**
 * Parses the environment once at start-up. Every bad variable is named with what it should be;
 * the caller prints the error and exits.
 */
export function parseConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env) {
  const schema = z.object(shape).superRefine((value, ctx) => {
    const v = value as Record<string, unknown>;
    if (v.FAULT_INJECTION_ENABLED === true && !v[ADMIN_TOKEN_ENV]) {
      ctx.addIssue({
        code: 'custom',
        path: [ADMIN_TOKEN_ENV],
        message: 'required when FAULT_INJECTION_ENABLED=true (the fault API is an admin API)',
      });
    }
  });
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
}
