import { ApiException } from '@kubernetes/client-node';

/** `HTTP 429: Cannot evict pod ...` from an ApiException (its body is a metav1.Status), else the message. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'object' && body?.message ? body.message : String(body ?? '');
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP status of a failed API call or watch request, when it had one. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const status = (error as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * A `Retry-After` (seconds) on a 429 from API Priority and Fairness, in ms: the list is retried no
 * sooner than the server asked.
 */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const headers = error.headers as Record<string, string | undefined>;
  const value = Number(headers['retry-after'] ?? headers['Retry-After']);
  return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
}
