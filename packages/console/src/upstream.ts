import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export class UpstreamUnreachableError extends Error {
  override name = 'UpstreamUnreachableError';
}

/** Headers worth passing back from an upstream answer. */
const PASSED_HEADERS = ['content-type', 'cache-control', 'x-request-id'];

/**
 * GETs `url` and streams the answer (status, content type, body) to `res` as it arrives, so Server-Sent
 * Events pass through live. The upstream request is aborted when the client goes away.
 */
export async function pipeGet(
  url: string,
  req: Request,
  res: Response,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<void> {
  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  res.on('close', onClose);
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => abort.abort(), options.timeoutMs);
  let upstream: globalThis.Response;
  try {
    upstream = await fetch(url, { headers: options.headers, signal: abort.signal });
  } catch (error) {
    res.off('close', onClose);
    throw new UpstreamUnreachableError(`${new URL(url).origin} did not answer: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    if (timer) clearTimeout(timer);
  }
  res.status(upstream.status);
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) res.setHeader(name, value);
  }
  if (upstream.body === null) {
    res.end();
    return;
  }
  res.flushHeaders();
  const body = Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>);
  body.on('error', () => res.destroy());
  body.pipe(res);
  void req;
}
