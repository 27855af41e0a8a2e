import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { DropReason, TraceStore } from './trace-store.ts';

const REASONS: DropReason[] = ['evicted', 'expired', 'trace_full', 'rejected'];

/** The trace store's figures, read at scrape time. */
export function registerTraceMetrics(registry: Registry, store: TraceStore): void {
  new Gauge({
    name: 'runtime_trace_spans_kept',
    help: 'Spans the local runtime keeps in memory (bounded by its span count and age limits).',
    registers: [registry],
    collect() {
      this.set(store.spanCount);
    },
  });
  new Gauge({
    name: 'runtime_traces_kept',
    help: 'Traces the local runtime keeps in memory.',
    registers: [registry],
    collect() {
      this.set(store.traceCount);
    },
  });
  new Counter({
    name: 'runtime_trace_spans_received_total',
    help: 'Spans received on POST /v1/traces.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(store.received);
    },
  });
  new Counter({
    name: 'runtime_trace_spans_dropped_total',
    help: 'Spans not kept or no longer kept: evicted (span limit), expired (age limit), trace_full, rejected (invalid).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of REASONS) this.inc({ reason }, store.dropped[reason]);
    },
  });
}
