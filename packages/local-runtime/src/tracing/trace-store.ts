import { SPAN_ATTRIBUTES } from '@self-healing-shop/contracts';
import type { SpanView, TraceSummary, TraceView } from '@self-healing-shop/contracts';
import type { DecodedSpan } from './otlp-json.ts';

/** Why a span was not kept, or stopped being kept (label of `runtime_trace_spans_dropped_total`). */
export type DropReason = 'evicted' | 'expired' | 'trace_full' | 'rejected';

export interface TraceStoreOptions {
  /**
   * Spans kept at most, all traces together; beyond it the least recently updated traces without an
   * error go first, then the others. Default 50,000 (about 35 MiB).
   */
  readonly maxSpans?: number;
  /** A trace not updated for this long goes. Default 30 minutes (a chaos run and the reading of its report). */
  readonly maxAgeMs?: number;
  /** Spans kept at most per trace; later ones are dropped. Default 1,000. */
  readonly maxSpansPerTrace?: number;
  readonly now?: () => number;
}

export interface TraceQuery {
  readonly orderId?: string;
  readonly idempotencyKey?: string;
  readonly service?: string;
  /** true: only traces with an ERROR span; false: only traces without. */
  readonly error?: boolean;
  /** Default 20. */
  readonly limit?: number;
}

export const MAX_TRACE_LIMIT = 500;

interface Entry {
  readonly spans: Map<string, DecodedSpan>;
  updatedAt: number;
  /** Has an ERROR span: kept longer when the span limit evicts (failed orders are the ones looked for). */
  failed: boolean;
  summary: TraceSummary | undefined;
}

const NS_PER_MS = 1_000_000n;
const iso = (ns: bigint) => new Date(Number(ns / NS_PER_MS)).toISOString();
/** Milliseconds with microsecond precision. */
const ms = (ns: bigint) => Number(ns / 1000n) / 1000;

function summarize(traceId: string, spans: readonly DecodedSpan[]): TraceSummary {
  let start = spans[0]!.startNs;
  let end = spans[0]!.endNs;
  for (const span of spans) {
    if (span.startNs < start) start = span.startNs;
    if (span.endNs > end) end = span.endNs;
  }
  const ids = new Set(spans.map((s) => s.spanId));
  // The root, else a span whose parent has not arrived (yet), else the earliest.
  const head =
    spans.find((s) => s.parentSpanId === null) ??
    [...spans].sort((a, b) => Number(a.startNs - b.startNs)).find((s) => !ids.has(s.parentSpanId!))!;
  const values = (key: string) =>
    [...new Set(spans.map((s) => s.attributes[key]).filter((v) => typeof v === 'string'))].sort() as string[];
  return {
    traceId,
    name: head.name,
    service: head.service,
    services: [...new Set(spans.map((s) => s.service))].sort(),
    startedAt: iso(start),
    durationMs: ms(end - start),
    spanCount: spans.length,
    errorCount: spans.filter((s) => s.status.code === 'ERROR').length,
    orderIds: values(SPAN_ATTRIBUTES.orderId),
    idempotencyKeys: values(SPAN_ATTRIBUTES.idempotencyKey),
  };
}

function view(span: DecodedSpan, traceStart: bigint): SpanView {
  return {
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: span.kind,
    service: span.service,
    startedAt: iso(span.startNs),
    offsetMs: ms(span.startNs - traceStart),
    durationMs: ms(span.endNs > span.startNs ? span.endNs - span.startNs : 0n),
    status: span.status,
    attributes: span.attributes,
    resource: span.resource,
    events: span.events.map((e) => ({
      name: e.name,
      at: iso(e.timeNs),
      offsetMs: ms(e.timeNs - traceStart),
      attributes: e.attributes,
    })),
    links: span.links,
  };
}

/**
 * Recent traces in memory, bounded by a count of spans and an age (a local runtime keeps minutes of
 * traces, not a history). The Map's order is the order of last update: eviction takes from its front.
 */
export class TraceStore {
  readonly maxSpans: number;
  readonly maxAgeMs: number;
  readonly maxSpansPerTrace: number;
  readonly #now: () => number;
  readonly #traces = new Map<string, Entry>();
  #spanCount = 0;
  received = 0;
  readonly dropped: Record<DropReason, number> = { evicted: 0, expired: 0, trace_full: 0, rejected: 0 };

  constructor(options: TraceStoreOptions = {}) {
    this.maxSpans = options.maxSpans ?? 50_000;
    this.maxAgeMs = options.maxAgeMs ?? 30 * 60_000;
    this.maxSpansPerTrace = options.maxSpansPerTrace ?? 1_000;
    for (const [name, value] of Object.entries({
      maxSpans: this.maxSpans,
      maxAgeMs: this.maxAgeMs,
      maxSpansPerTrace: this.maxSpansPerTrace,
    }))
      if (!Number.isInteger(value) || value <= 0)
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
    this.#now = options.now ?? Date.now;
  }

  get spanCount(): number {
    this.#expire();
    return this.#spanCount;
  }

  get traceCount(): number {
    this.#expire();
    return this.#traces.size;
  }

  /** Counts spans the receiver could not decode. */
  reject(count: number): void {
    this.received += count;
    this.dropped.rejected += count;
  }

  add(spans: readonly DecodedSpan[]): void {
    this.#expire();
    const now = this.#now();
    for (const span of spans) {
      this.received += 1;
      const entry = this.#traces.get(span.traceId) ?? {
        spans: new Map(),
        updatedAt: now,
        failed: false,
        summary: undefined,
      };
      const replaces = entry.spans.has(span.spanId);
      if (!replaces && entry.spans.size >= this.maxSpansPerTrace) {
        this.dropped.trace_full += 1;
        continue;
      }
      entry.spans.set(span.spanId, span);
      entry.updatedAt = now;
      if (span.status.code === 'ERROR') entry.failed = true;
      entry.summary = undefined;
      if (!replaces) this.#spanCount += 1;
      this.#traces.delete(span.traceId);
      this.#traces.set(span.traceId, entry);
    }
    this.#evict();
  }

  list(query: TraceQuery = {}): TraceSummary[] {
    this.#expire();
    const limit = query.limit ?? 20;
    const matches: TraceSummary[] = [];
    for (const [traceId, entry] of this.#traces) {
      entry.summary ??= summarize(traceId, [...entry.spans.values()]);
      const s = entry.summary;
      if (query.orderId !== undefined && !s.orderIds.includes(query.orderId)) continue;
      if (query.idempotencyKey !== undefined && !s.idempotencyKeys.includes(query.idempotencyKey)) continue;
      if (query.service !== undefined && !s.services.includes(query.service)) continue;
      if (query.error !== undefined && s.errorCount > 0 !== query.error) continue;
      matches.push(s);
    }
    return matches.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
  }

  get(traceId: string): TraceView | undefined {
    this.#expire();
    const entry = this.#traces.get(traceId.toLowerCase());
    if (!entry) return undefined;
    const spans = [...entry.spans.values()].sort((a, b) =>
      a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0,
    );
    entry.summary ??= summarize(traceId, spans);
    const start = spans[0]!.startNs;
    return { ...entry.summary, spans: spans.map((s) => view(s, start)) };
  }

  #drop(traceId: string, entry: Entry, reason: DropReason): void {
    this.#traces.delete(traceId);
    this.#spanCount -= entry.spans.size;
    this.dropped[reason] += entry.spans.size;
  }

  /** Oldest first, traces without an error before those with one. */
  #evict(): void {
    for (const keepFailed of [true, false]) {
      for (const [traceId, entry] of this.#traces) {
        if (this.#spanCount <= this.maxSpans) return;
        if (!(keepFailed && entry.failed)) this.#drop(traceId, entry, 'evicted');
      }
    }
  }

  #expire(): void {
    const oldest = this.#now() - this.maxAgeMs;
    for (const [traceId, entry] of this.#traces) {
      if (entry.updatedAt >= oldest) return;
      this.#drop(traceId, entry, 'expired');
    }
  }
}
