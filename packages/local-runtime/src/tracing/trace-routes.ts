import type http from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { OTLP_TRACES_PATH } from '@self-healing-shop/contracts';
import type { TraceList, TraceView } from '@self-healing-shop/contracts';
import { decodeTraceExport, OtlpFormatError } from './otlp-json.ts';
import { MAX_TRACE_LIMIT } from './trace-store.ts';
import type { TraceQuery, TraceStore } from './trace-store.ts';

/** An export request of the OTel SDK's batch processor is well under this (512 spans). */
export const MAX_OTLP_BYTES = 8 * 1024 * 1024;
const TRACE_ID = /^[0-9a-fA-F]{32}$/;
/** google.rpc.Code INVALID_ARGUMENT: OTLP answers errors with a Status message. */
const INVALID_ARGUMENT = 3;
const gunzipAsync = promisify(gunzip);

class RouteError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function json(response: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readBody(request: http.IncomingMessage): Promise<Buffer> {
  const tooLarge = () => new RouteError(413, `an export request must not exceed ${MAX_OTLP_BYTES} bytes`);
  if (Number(request.headers['content-length'] ?? 0) > MAX_OTLP_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_OTLP_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return body;
  if (encoding !== 'gzip')
    throw new RouteError(415, `content-encoding ${encoding} is not supported (gzip or none)`);
  try {
    return await gunzipAsync(body, { maxOutputLength: MAX_OTLP_BYTES });
  } catch (error) {
    throw new RouteError(400, `the gzip body cannot be decompressed: ${(error as Error).message}`);
  }
}

/** `POST /v1/traces`: OTLP/HTTP with the JSON encoding (the protobuf one is answered 415). */
async function receive(store: TraceStore, request: http.IncomingMessage, response: http.ServerResponse) {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new RouteError(
      415,
      type === 'application/x-protobuf'
        ? 'this receiver accepts OTLP/HTTP JSON only, not protobuf: export with OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json (@opentelemetry/exporter-trace-otlp-http)'
        : `send an OTLP/HTTP JSON export as application/json, got ${type || 'no content-type'}`,
    );
  }
  const body = await readBody(request);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new RouteError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  let decoded;
  try {
    decoded = decodeTraceExport(parsed);
  } catch (error) {
    if (error instanceof OtlpFormatError) throw new RouteError(400, error.message);
    throw error;
  }
  store.add(decoded.spans);
  if (decoded.rejected === 0) return json(response, 200, {});
  store.reject(decoded.rejected);
  json(response, 200, {
    partialSuccess: { rejectedSpans: decoded.rejected, errorMessage: decoded.firstError },
  });
}

function query(url: URL): TraceQuery {
  const params = url.searchParams;
  const text = (name: string) => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const error = text('error');
  if (error !== undefined && error !== 'true' && error !== 'false')
    throw new RouteError(400, `error must be true or false, got ${error}`);
  const limitText = text('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_TRACE_LIMIT))
    throw new RouteError(400, `limit must be an integer from 1 to ${MAX_TRACE_LIMIT}, got ${limitText}`);
  const orderId = text('orderId');
  const idempotencyKey = text('idempotencyKey');
  const service = text('service');
  return {
    ...(orderId === undefined ? {} : { orderId }),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(service === undefined ? {} : { service }),
    ...(error === undefined ? {} : { error: error === 'true' }),
    ...(limit === undefined ? {} : { limit }),
  };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
};

/**
 * The trace routes of the control API: `POST /v1/traces` (the OTLP receiver), `GET /traces` and
 * `GET /traces/:traceId`. Returns false when the path is none of them. Errors of the receiver are OTLP
 * `Status` messages (`{ code, message }`), those of the query API problem+json, like the rest of the API.
 */
export async function handleTraceRoute(
  store: TraceStore,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  url: URL,
): Promise<boolean> {
  const method = request.method ?? 'GET';
  const parts = url.pathname.split('/').filter(Boolean);
  const isReceiver = url.pathname === OTLP_TRACES_PATH;
  if (!isReceiver && parts[0] !== 'traces') return false;
  if (parts.length > 2) return false;
  try {
    const allowed = isReceiver ? 'POST' : 'GET';
    if (method !== allowed) {
      response.setHeader('allow', allowed);
      throw new RouteError(405, `${method} is not allowed on ${url.pathname}`);
    }
    if (isReceiver) await receive(store, request, response);
    else if (parts.length === 1) json(response, 200, { items: store.list(query(url)) } satisfies TraceList);
    else {
      const traceId = decodeURIComponent(parts[1]!);
      if (!TRACE_ID.test(traceId))
        throw new RouteError(400, `a trace id is 32 hex characters, got ${traceId}`);
      const trace = store.get(traceId);
      if (!trace)
        throw new RouteError(404, `no trace ${traceId} is kept (unknown, or older than the store keeps)`);
      json(response, 200, trace satisfies TraceView);
    }
  } catch (error) {
    if (response.headersSent) response.destroy();
    else if (!(error instanceof RouteError)) throw error;
    else if (isReceiver) json(response, error.status, { code: INVALID_ARGUMENT, message: error.message });
    else
      json(
        response,
        error.status,
        {
          type: 'about:blank',
          title: TITLES[error.status] ?? 'Error',
          status: error.status,
          detail: error.message,
        },
        'application/problem+json',
      );
  }
  return true;
}
