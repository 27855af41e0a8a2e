// The kit's query spans (src/tracing/query-spans.ts) against a real PostgreSQL: one CLIENT span per
// query inside a recorded span, under the span that made the query, and nothing at all outside one.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { startEmbeddedPostgres, type RunningPostgres } from '@self-healing-shop/embedded-postgres';
import { createPool, withTransaction, type Pool } from '../src/postgres.ts';
import { setQueryTracing } from '../src/tracing/query-spans.ts';

const logger = pino({ level: 'silent' });
const exporter = new InMemorySpanExporter();
// Counts the spans asked for, recorded or not: a span started under an unsampled parent is dropped by
// the sampler and never exported, so only this shows that no span was even started.
const parentBased = new ParentBasedSampler({ root: new AlwaysOnSampler() });
let spansAskedFor = 0;
const countingSampler: Sampler = {
  shouldSample(...args) {
    spansAskedFor++;
    return parentBased.shouldSample(...args);
  },
  toString: () => 'counting',
};
const provider = new TracerProvider({
  sampler: countingSampler,
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
const tracer = provider.getTracer('test');
let postgres: RunningPostgres;
let pool: Pool;
let database: string;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  postgres = await startEmbeddedPostgres();
  database = new URL(postgres.url).pathname.slice(1);
  setQueryTracing(true);
  pool = createPool({ connectionString: postgres.url, logger, max: 1 });
  setQueryTracing(false);
  await pool.query('CREATE TABLE things (id text PRIMARY KEY)');
});

afterAll(async () => {
  await pool?.end();
  await postgres?.stop();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

beforeEach(() => exporter.reset());

/** Runs `fn` inside a recorded span named `name`, as a request let in at the door does. */
function inSpan<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

const spans = (prefix = 'pg.query') => exporter.getFinishedSpans().filter((s) => s.name.startsWith(prefix));
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (name: string) =>
  exporter
    .getFinishedSpans()
    .find((s) => s.name === name)!
    .spanContext().spanId;

describe('query spans', () => {
  it('makes one client span per query inside a recorded span, named after the prepared statement', async () => {
    await inSpan('request', () =>
      pool.query({ name: 'things-count', text: 'SELECT count(*) FROM things WHERE id <> $1', values: ['x'] }),
    );
    const [span, ...more] = spans();
    expect(more).toHaveLength(0);
    expect(span!.name).toBe(`pg.query:things-count ${database}`);
    expect(span!.kind).toBe(SpanKind.CLIENT);
    expect(parentOf(span!)).toBe(idOf('request'));
    expect(span!.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.namespace': database,
      'db.query.text': 'SELECT count(*) FROM things WHERE id <> $1',
      'db.operation.name': 'SELECT',
      'db.query.summary': 'things-count',
      'server.address': new URL(postgres.url).hostname,
      'server.port': Number(new URL(postgres.url).port),
    });
    expect(span!.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('starts none outside a span or inside one that is not recorded', async () => {
    spansAskedFor = 0;
    await pool.query('SELECT 1');
    const unsampled = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    await context.with(trace.setSpan(context.active(), unsampled), () => pool.query('SELECT 2'));
    expect(spansAskedFor).toBe(0);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it("traces each statement of a transaction under the caller's span, once", async () => {
    await inSpan('request', () =>
      withTransaction(pool, (client) => client.query("INSERT INTO things VALUES ('a')")),
    );
    expect(spans().map((s) => s.name)).toEqual([
      `pg.query:BEGIN ${database}`,
      `pg.query:INSERT ${database}`,
      `pg.query:COMMIT ${database}`,
    ]);
    expect(new Set(spans().map(parentOf))).toEqual(new Set([idOf('request')]));
  });

  it('marks a failed query with its SQLSTATE and still rejects it', async () => {
    await expect(inSpan('request', () => pool.query('SELECT * FROM no_such_table'))).rejects.toThrow(
      /no_such_table/,
    );
    const [span] = spans();
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.attributes['error.type']).toBe('42P01');
  });

  it('gives each query waiting for the busy pool the span that made it', async () => {
    // max 1: the second query waits until the first one's client is released.
    await Promise.all([
      inSpan('first', () => pool.query('SELECT pg_sleep(0.05)')),
      inSpan('second', () => pool.query('SELECT 2')),
    ]);
    const bySql = new Map(spans().map((s) => [s.attributes['db.query.text'], parentOf(s)]));
    expect(bySql.get('SELECT pg_sleep(0.05)')).toBe(idOf('first'));
    expect(bySql.get('SELECT 2')).toBe(idOf('second'));
  });

  it('traces a pool whose database name is not valid percent-encoding, naming the database as written', async () => {
    setQueryTracing(true);
    // decodeURIComponent throws on `%zz`: the span must still be made (before, only with tracing on, the
    // pool could not even be created). pg fails to connect to that database, and the span says so.
    const odd = createPool({ connectionString: `${postgres.url.replace(/\/[^/]*$/, '/%zz')}`, logger });
    setQueryTracing(false);
    try {
      await expect(inSpan('request', () => odd.query('SELECT 1'))).rejects.toThrow();
      const [span] = spans();
      expect(span!.name).toBe('pg.query:SELECT %zz');
      expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    } finally {
      await odd.end();
    }
  });

  it('leaves a pool created with tracing off untouched', async () => {
    const plain = createPool({ connectionString: postgres.url, logger });
    try {
      expect(Object.hasOwn(plain, 'query')).toBe(false);
      await inSpan('request', () => plain.query('SELECT 1'));
      expect(spans()).toHaveLength(0);
    } finally {
      await plain.end();
    }
  });
});
