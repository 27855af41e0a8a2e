import http from 'node:http';
import { REPLICA_SIGNALS } from '@self-healing-shop/contracts';
import type {
  ReplicaSignal,
  ReplicaView,
  RolloutRequest,
  RolloutView,
  RuntimeInfo,
  WorkloadView,
} from '@self-healing-shop/contracts';
import { z } from 'zod';
import type { EventLog, RuntimeEvent } from './event-log.ts';
import { handleTraceRoute } from '../tracing/trace-routes.ts';
import type { TraceStore } from '../tracing/trace-store.ts';

/** What the control API acts on. */
export interface ControlTarget {
  readonly events: EventLog;
  replicas(): ReplicaView[];
  workloads(): WorkloadView[];
  /** false when no such replica runs. */
  kill(name: string, signal: ReplicaSignal): boolean;
  /** false when no such workload exists. */
  restart(name: string): boolean;
  metrics(): Promise<string>;
  info(): RuntimeInfo;
  /** Recent traces: `POST /v1/traces` (OTLP/HTTP JSON), `GET /traces`, `GET /traces/:traceId`. */
  readonly traces?: TraceStore;
  /**
   * `PATCH /deployments/:name` and `POST /deployments/:name/rollback` (rollout-target.ts makes both
   * from the runtime's controllers); undefined when no such Deployment exists. Absent, the routes
   * answer 501.
   */
  rollout?(name: string, change: RolloutRequest): RolloutView | undefined;
  undo?(name: string): RolloutView | undefined;
}

/** The body of `PATCH /deployments/:name`. */
const rolloutRequest = z
  .object({
    env: z
      .record(z.string(), z.string({ error: 'must be a string' }))
      .superRefine((env, context) => {
        for (const name of Object.keys(env).filter((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)))
          context.addIssue({ code: 'custom', path: [name], message: 'is not an environment variable name' });
      })
      .optional(),
    progressDeadlineSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict();

/** A state that forbids the request (`rollout undo` without an earlier revision): 409. */
export class ConflictError extends Error {}

const MAX_JSON_BYTES = 16 * 1024;
const MAX_CHAOS_BYTES = 256 * 1024;
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?[ \t]+[^ \t]+([ \t]+-?\d+)?$/;
const HEARTBEAT_MS = 15_000;

class HttpProblem extends Error {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(detail);
    this.status = status;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function sendProblem(response: http.ServerResponse, status: number, detail: string): void {
  const text = JSON.stringify({ type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail });
  response.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpProblem(413, `the body must not exceed ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpProblem(413, `the body must not exceed ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readJson(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(request, MAX_JSON_BYTES);
  if (body.length === 0) return {};
  if (!/^application\/(.+\+)?json\b/.test(request.headers['content-type'] ?? '')) {
    throw new HttpProblem(415, 'send the body as application/json');
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpProblem(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Checks a Prometheus text exposition: comments and samples only, no kube_* names (they are the runtime's). */
export function validateExposition(text: string): string {
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (!SAMPLE.test(trimmed))
      throw new HttpProblem(400, `line ${index + 1} is not a Prometheus sample: ${trimmed.slice(0, 80)}`);
    if (trimmed.startsWith('kube_'))
      throw new HttpProblem(400, `line ${index + 1}: kube_* metrics belong to the runtime`);
  }
  return text.endsWith('\n') || text === '' ? text : `${text}\n`;
}

function isReplicaSignal(value: unknown): value is ReplicaSignal {
  return (REPLICA_SIGNALS as readonly unknown[]).includes(value);
}

function decodeName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpProblem(400, 'the name is not valid URL encoding');
  }
}

/**
 * `GET /events`: Server-Sent Events from after `Last-Event-ID` (a reconnecting EventSource) or `?after=`,
 * else the last `?last=` events before now, else only new ones. `?last=` lets a page show what happened
 * just before it opened, and nothing that happened while its stream connected is lost.
 */
function streamEvents(
  events: EventLog,
  streams: Set<http.ServerResponse>,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  url: URL,
): void {
  const last = url.searchParams.get('last');
  if (last !== null && !/^\d+$/.test(last)) throw new HttpProblem(400, 'last must be a number of events');
  const from =
    request.headers['last-event-id'] ??
    url.searchParams.get('after') ??
    String(Math.max(0, events.lastSeq - Number(last ?? 0)));
  const after = Number(from);
  if (!Number.isInteger(after) || after < 0)
    throw new HttpProblem(400, 'Last-Event-ID / after must be a sequence number');
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const write = (event: RuntimeEvent) =>
    response.write(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
  response.write('retry: 1000\n\n');
  for (const event of events.after(after)) write(event);
  const unsubscribe = events.subscribe(write);
  const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MS);
  streams.add(response);
  response.on('close', () => {
    unsubscribe();
    clearInterval(heartbeat);
    streams.delete(response);
  });
}

/** `PUT /chaos/metrics`: the chaos engine's figures, Prometheus text, validated. */
async function readExposition(request: http.IncomingMessage): Promise<string> {
  if (!/^(text\/plain|application\/openmetrics-text)\b/.test(request.headers['content-type'] ?? '')) {
    throw new HttpProblem(415, 'send the Prometheus text format as text/plain');
  }
  const body = await readBody(request, MAX_CHAOS_BYTES);
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HttpProblem(400, 'the body is not UTF-8 text');
  }
  return validateExposition(decoded);
}

/** `POST /replicas/:name/kill {signal}`. */
async function kill(
  target: ControlTarget,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  segment: string,
) {
  const body = await readJson(request);
  const signal = body['signal'] ?? 'SIGKILL';
  if (!isReplicaSignal(signal))
    throw new HttpProblem(400, `signal must be one of ${REPLICA_SIGNALS.map((s) => `"${s}"`).join(', ')}`);
  const name = decodeName(segment);
  if (!target.kill(name, signal)) throw new HttpProblem(404, `no running replica named ${name}`);
  send(response, 202, { replica: name, signal });
}

function parseRollout(body: Record<string, unknown>): RolloutRequest {
  const parsed = rolloutRequest.safeParse(body);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues
    .map((issue) => `${issue.path.map(String).join('.') || 'body'} ${issue.message}`)
    .join('; ');
  throw new HttpProblem(400, detail);
}

/** `PATCH /deployments/:name` (a rollout) and `POST /deployments/:name/rollback` (rollout undo). */
async function rollout(
  target: ControlTarget,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  name: string,
  undo: boolean,
): Promise<void> {
  if (!(undo ? target.undo : target.rollout))
    throw new HttpProblem(501, 'this runtime does not roll out Deployments');
  const change = undo ? {} : parseRollout(await readJson(request));
  let view: RolloutView | undefined;
  try {
    view = undo ? target.undo?.(name) : target.rollout?.(name, change);
  } catch (error) {
    if (error instanceof ConflictError) throw new HttpProblem(409, error.message);
    throw error;
  }
  if (!view) throw new HttpProblem(404, `no Deployment named ${name}`);
  send(response, 202, view);
}

const TEXT = { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' };

/**
 * The control API (`@self-healing-shop/contracts` runtime-api.ts): replicas, workloads, kill/signal,
 * restart, rollout and rollback, events (SSE with replay), metrics (kube-state-metrics names plus the
 * chaos figures stored with PUT /chaos/metrics), status, and the traces (OTLP receiver and query API,
 * `../tracing/`).
 */
export function createControlApi(target: ControlTarget): { server: http.Server; closeStreams: () => void } {
  let chaosMetrics = '';
  const streams = new Set<http.ServerResponse>();

  const route = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://control');
    const method = request.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean);
    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) {
        response.setHeader('allow', methods.join(', '));
        throw new HttpProblem(405, `${method} is not allowed on ${url.pathname}`);
      }
    };
    const isRestart =
      (parts[0] === 'workloads' || parts[0] === 'deployments') &&
      parts.length === 3 &&
      parts[2] === 'restart';
    if (target.traces && (await handleTraceRoute(target.traces, request, response, url))) return;
    if (url.pathname === '/replicas') {
      allow('GET');
      send(response, 200, { items: target.replicas() });
    } else if (url.pathname === '/workloads') {
      allow('GET');
      send(response, 200, { items: target.workloads() });
    } else if (parts[0] === 'replicas' && parts.length === 3 && parts[2] === 'kill') {
      allow('POST');
      await kill(target, request, response, parts[1]!);
    } else if (isRestart) {
      allow('POST');
      const name = decodeName(parts[1]!);
      if (!target.restart(name)) throw new HttpProblem(404, `no workload named ${name}`);
      send(response, 202, { workload: name });
    } else if (parts[0] === 'deployments' && parts.length === 2) {
      allow('PATCH');
      await rollout(target, request, response, decodeName(parts[1]!), false);
    } else if (parts[0] === 'deployments' && parts.length === 3 && parts[2] === 'rollback') {
      allow('POST');
      await rollout(target, request, response, decodeName(parts[1]!), true);
    } else if (url.pathname === '/events') {
      allow('GET');
      streamEvents(target.events, streams, request, response, url);
    } else if (url.pathname === '/metrics') {
      allow('GET');
      const text = (await target.metrics()) + chaosMetrics;
      response.writeHead(200, TEXT).end(text);
    } else if (url.pathname === '/chaos/metrics') {
      allow('PUT', 'GET');
      if (method === 'GET') response.writeHead(200, TEXT).end(chaosMetrics);
      else {
        chaosMetrics = await readExposition(request);
        response.writeHead(204).end();
      }
    } else if (url.pathname === '/status') {
      allow('GET');
      send(response, 200, target.info());
    } else {
      throw new HttpProblem(404, `no route ${method} ${url.pathname}`);
    }
  };

  const server = http.createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpProblem) sendProblem(response, error.status, error.message);
      else sendProblem(response, 500, error instanceof Error ? error.message : String(error));
    });
  });
  const closeStreams = () => {
    for (const stream of streams) stream.end();
  };
  return { server, closeStreams };
}
