import type { z } from 'zod';
import { ValidationError, type FieldProblem } from './problem.ts';

/** Parses `value` with `schema`; on failure throws a 400 ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what = 'request body',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldProblem[] = result.error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : '(root)',
    message: issue.message,
  }));
  const first = errors[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  throw new ValidationError(`The ${what} is invalid: ${summary}${more}`, errors);
}
