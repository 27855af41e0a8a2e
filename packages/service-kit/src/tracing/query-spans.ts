// The kit's own CLIENT span per database query, made only inside a recorded span. It replaces
// @opentelemetry/instrumentation-pg, which wrapped every query and every pool checkout of every request,
// traced or not, and updated OpenTelemetry pool metrics on each pool event that nothing here exports
// (1–2 % of each service's CPU in the order benchmark's profiles, services/order/README.md,
// "Tracing"), and needed module hooks at start-up. Names and attributes follow that instrumentation
// and the database semantic conventions. One difference: a `pool.query` span starts when the query is
// asked for, so it includes the wait for a free connection, where instrumentation-pg timed only the
// statement; a starved pool shows in the trace.
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type pg from 'pg';

const tracer = trace.getTracer('@self-healing-shop/service-kit');

let enabled = false;

/** Called by the SDK when tracing starts and stops (tracing-sdk.ts): pools created meanwhile are traced. */
export function setQueryTracing(on: boolean): void {
  enabled = on;
}

type Query = (...args: unknown[]) => unknown;

interface Target {
  readonly database: string;
  readonly host: string;
  readonly port: number;
}

/**
 * Traces the queries of `pool` when tracing is on (createPool calls it): `pool.query` and the `query` of
 * every client the pool connects (transactions on `pool.connect()`). A query made outside a recorded
 * span runs untouched but for one look at the active span. A call with a callback is pg-pool's own,
 * inside a `pool.query` already traced, and is left alone, as are submittables (cursors, streams).
 */
export function traceQueries(pool: pg.Pool, connectionString: string): void {
  if (!enabled) return;
  const target = targetOf(connectionString);
  pool.query = traced(pool.query.bind(pool) as Query, target) as typeof pool.query;
  pool.on('connect', (client) => {
    client.query = traced(client.query.bind(client) as Query, target) as typeof client.query;
  });
}

/** Where the queries go, for the spans' attributes; what cannot be read is left out, never fatal. */
function targetOf(connectionString: string): Target {
  try {
    const url = new URL(connectionString);
    const port = Number(url.port || 5432);
    return { database: safeDecode(url.pathname.slice(1)), host: url.hostname, port };
  } catch {
    return { database: '', host: '', port: 0 };
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function traced(query: Query, target: Target): Query {
  return (...args) => {
    const config = args[0];
    if (
      !trace.getActiveSpan()?.isRecording() ||
      typeof args.at(-1) === 'function' ||
      (typeof config === 'object' && config !== null && ('submit' in config || 'callback' in config))
    )
      return query(...args);
    const span = startQuerySpan(config, target);
    let pending: unknown;
    try {
      pending = query(...args);
    } catch (error) {
      endWithError(span, error);
      throw error;
    }
    return (pending as Promise<unknown>).then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        endWithError(span, error);
        throw error;
      },
    );
  };
}

/** `pg.query:<statement name, or the SQL's first word> <database>`, as instrumentation-pg named it. */
function startQuerySpan(config: unknown, target: Target): Span {
  const text =
    typeof config === 'string'
      ? config
      : typeof (config as { text?: unknown } | null)?.text === 'string'
        ? (config as { text: string }).text
        : '';
  const operation = text.trimStart().split(/\s/, 1)[0]!.replace(/;$/, '').toUpperCase();
  const name = (config as { name?: unknown } | null)?.name;
  const summary = typeof name === 'string' && name ? name : operation;
  return tracer.startSpan(`pg.query:${summary}${target.database ? ` ${target.database}` : ''}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'db.system.name': 'postgresql',
      'db.query.text': text,
      ...(operation ? { 'db.operation.name': operation } : {}),
      ...(typeof name === 'string' && name ? { 'db.query.summary': name } : {}),
      ...(target.database ? { 'db.namespace': target.database } : {}),
      ...(target.host ? { 'server.address': target.host } : {}),
      ...(target.port > 0 ? { 'server.port': target.port } : {}),
    },
  });
}

function endWithError(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  span.setAttribute('error.type', typeof code === 'string' ? code : ((error as Error)?.name ?? 'Error'));
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
  span.end();
}
