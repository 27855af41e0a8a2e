import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Endpoint, Endpoints } from './endpoints.ts';

// Connection-scoped headers are not forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const MAX_REPLAY_BYTES = 1 << 20;
const UPSTREAM_TIMEOUT_MS = 60_000;

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

// No Retry-After on the 503: callers' own retry backoff (tens of ms) beats a fixed second, and a
// Kubernetes Service without endpoints gives none either.
function problem(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  status: number,
  title: string,
  detail: string,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': request.headers['x-request-id'] ?? randomUUID(),
  };
  response.writeHead(status, headers);
  response.end(body);
}

/**
 * A Service's stable address: each client connection goes to one ready replica, picked at random and kept
 * while it is ready (Endpoints.forConnection, as kube-proxy), over keep-alive connections to it. No ready
 * replica: 503 at once. A connection error retries another replica once when the request is idempotent (by
 * method, or a POST with an Idempotency-Key) and its body is known, else 502. A request whose client left
 * is dropped, never sent again.
 */
export function createFrontProxy(service: string, endpoints: Endpoints): http.Server {
  return http.createServer((request, response) => {
    const first = endpoints.forConnection(request.socket);
    if (!first) {
      problem(request, response, 503, 'Service Unavailable', `no ready replica of ${service}`);
      return;
    }
    const method = request.method ?? 'GET';
    const headers = endToEnd(request.headers);
    const hasBody =
      request.headers['transfer-encoding'] !== undefined ||
      Number(request.headers['content-length'] ?? 0) > 0;
    // A POST with an Idempotency-Key is safe to send again: the service answers a replay with the first result.
    const retriable = IDEMPOTENT.has(method) || request.headers['idempotency-key'] !== undefined;
    let replay: Buffer[] | undefined = retriable ? [] : undefined;
    if (hasBody && replay) {
      let size = 0;
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (replay && size <= MAX_REPLAY_BYTES) replay.push(chunk);
        else replay = undefined;
      });
    }

    let clientGone = false;
    const send = (endpoint: Endpoint, retried: boolean): void => {
      const upstream = http.request({
        host: '127.0.0.1',
        port: endpoint.port,
        method,
        path: request.url,
        headers,
        agent: endpoint.agent,
      });
      upstream.setTimeout(UPSTREAM_TIMEOUT_MS, () => upstream.destroy(new Error('upstream timeout')));
      upstream.on('response', (answer) => {
        response.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(response);
        answer.on('error', () => response.destroy());
      });
      upstream.on('error', (error: Error) => {
        // Destroyed because the client left (its attempt timed out or lost to a hedge): nobody waits.
        if (clientGone) return;
        if (response.headersSent) {
          response.destroy();
          return;
        }
        const canRetry = !retried && replay !== undefined && (!hasBody || request.readableEnded);
        const other = canRetry ? endpoints.pick(endpoint.name) : undefined;
        if (other) {
          send(other, true);
          return;
        }
        const timedOut = error.message === 'upstream timeout';
        problem(
          request,
          response,
          timedOut ? 504 : 502,
          timedOut ? 'Gateway Timeout' : 'Bad Gateway',
          `${service} replica ${endpoint.name}: ${error.message}`,
        );
      });
      response.on('close', () => {
        if (response.writableFinished) return;
        clientGone = true;
        upstream.destroy();
      });
      if (!hasBody) upstream.end();
      else if (retried) upstream.end(Buffer.concat(replay ?? []));
      else request.pipe(upstream);
    };
    send(first, false);
  });
}
