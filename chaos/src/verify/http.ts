/** JSON over HTTP for the checks: a clear error naming what was asked, never a hang. */
import { fetch } from 'undici';

export const REQUEST_TIMEOUT_MS = 10_000;

export class HttpCheckError extends Error {
  override name = 'HttpCheckError';
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

export interface JsonRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
}

/** GET/POST `url` and parse the JSON answer; a non-2xx or a body that is not JSON rejects. */
export async function requestJson<T>(what: string, url: string, init: JsonRequest = {}): Promise<T> {
  let response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new HttpCheckError(
      `${what}: cannot reach ${url} (${cause?.code ?? cause?.message ?? (error as Error).message})`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    throw new HttpCheckError(
      `${what} answered ${response.status}: ${text.slice(0, 200) || '(empty body)'}`,
      response.status,
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HttpCheckError(
      `${what} answered ${response.status} without JSON: ${text.slice(0, 200)}`,
      response.status,
    );
  }
}

/** The HTTP status of a GET (a body is read and dropped); rejects only when nothing answers. */
export async function statusOf(what: string, url: string): Promise<{ status: number; type: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await response.arrayBuffer();
    return { status: response.status, type: response.headers.get('content-type') ?? '' };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new HttpCheckError(`${what}: cannot reach ${url} (${cause?.code ?? (error as Error).message})`);
  }
}
