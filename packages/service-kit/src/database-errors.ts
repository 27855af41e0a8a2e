import { DomainError } from './problem.ts';

// Socket errors and PostgreSQL classes 08 (connection exception), 57P01-57P03 (shutting down,
// cannot connect now) and 53300 (too many connections): transient, the pool reconnects.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|connection (is )?closed/i;

/**
 * True for errors that mean the database is unreachable right now (the pool reconnects by itself),
 * as opposed to a bug (a bad statement, a constraint): the one definition every service uses.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
}

/** 503 `urn:problem:database-unavailable` with Retry-After: what every service answers during an outage. */
export class DatabaseUnavailableError extends DomainError {
  constructor(cause?: unknown) {
    super(503, 'database-unavailable', 'Database unavailable', {
      detail: 'The database cannot be reached; retry shortly',
      headers: { 'retry-after': '1' },
      cause,
    });
  }
}
