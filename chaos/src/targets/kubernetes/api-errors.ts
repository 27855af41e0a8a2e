import { ApiException } from '@kubernetes/client-node';

/** The `message` of a metav1.Status, whether client-node parsed the body or left it as text. */
function statusMessage(body: unknown): string {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return body.slice(0, 300);
    }
  }
  const message = (value as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : '';
}

/**
 * `HTTP 429: Cannot evict pod ...` from an ApiException, else the error's message. client-node 2.0.1
 * hands a failed call's metav1.Status over as the raw JSON text (`body`), hence the parse.
 */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const message = statusMessage(error.body);
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
