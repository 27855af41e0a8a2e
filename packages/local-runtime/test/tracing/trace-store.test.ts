import { describe, expect, it } from '@jest/globals';
import type { DecodedSpan } from '../../src/tracing/otlp-json.ts';
import { TraceStore } from '../../src/tracing/trace-store.ts';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function span(trace: number, index: number, startMs = 1_000 + trace, failed = false): DecodedSpan {
  const startNs = BigInt(startMs) * 1_000_000n;
  return {
    traceId: hex(trace + 1, 32),
    spanId: hex(trace * 1000 + index + 1, 16),
    parentSpanId: index === 0 ? null : hex(trace * 1000 + 1, 16),
    name: index === 0 ? 'POST /orders' : `child ${index}`,
    kind: 'SERVER',
    service: index === 0 ? 'order' : 'inventory',
    startNs: startNs + BigInt(index),
    endNs: startNs + 5_000_000n,
    status: { code: failed ? 'ERROR' : 'UNSET' },
    attributes: {},
    resource: {},
    events: [],
    links: [],
  };
}

describe('trace store bounds', () => {
  it('evicts the least recently updated traces beyond the span limit, and counts them', () => {
    const store = new TraceStore({ maxSpans: 6 });
    for (const trace of [0, 1, 2]) store.add([span(trace, 0), span(trace, 1)]);
    // 7 spans: trace 1, the least recently updated, goes; trace 0 was just updated.
    store.add([span(0, 2)]);
    expect(store.spanCount).toBe(5);
    expect(store.dropped.evicted).toBe(2);
    expect(store.get(hex(2, 32))).toBeUndefined();
    // 7 again: trace 2 goes, trace 0 (older by start, newer by update) stays.
    store.add([span(3, 0), span(3, 1)]);
    expect(store.spanCount).toBe(5);
    expect(store.dropped.evicted).toBe(4);
    expect(store.get(hex(3, 32))).toBeUndefined();
    expect(store.get(hex(1, 32))?.spanCount).toBe(3);
    expect(store.list().map((t) => t.traceId)).toEqual([hex(4, 32), hex(1, 32)]);
  });

  it('evicts traces without an error before older traces with one, and those only when nothing else is left', () => {
    const store = new TraceStore({ maxSpans: 4 });
    store.add([span(0, 0, 1_000, true), span(0, 1)]); // failed, the oldest
    store.add([span(1, 0), span(1, 1)]);
    store.add([span(2, 0), span(2, 1)]);
    expect(store.get(hex(1, 32))).toBeDefined();
    expect(store.get(hex(2, 32))).toBeUndefined();
    expect(store.get(hex(3, 32))).toBeDefined();
    expect(store.list({ error: true }).map((t) => t.traceId)).toEqual([hex(1, 32)]);
    store.add([span(3, 0, 1_003, true), span(3, 1), span(3, 2)]);
    // Only failed traces are left to evict: the older one goes.
    expect(store.get(hex(1, 32))).toBeUndefined();
    expect(store.spanCount).toBe(3);
  });

  it('forgets traces not updated within the age limit', () => {
    let now = 0;
    const store = new TraceStore({ maxAgeMs: 60_000, now: () => now });
    store.add([span(0, 0)]);
    now = 30_000;
    store.add([span(1, 0)]);
    now = 60_001;
    expect(store.traceCount).toBe(1);
    expect(store.get(hex(1, 32))).toBeUndefined();
    expect(store.get(hex(2, 32))).toBeDefined();
    expect(store.dropped.expired).toBe(1);
    now = 90_001;
    expect(store.list()).toEqual([]);
    expect(store.spanCount).toBe(0);
  });

  it('drops spans beyond the per-trace limit, but replaces a span sent again', () => {
    const store = new TraceStore({ maxSpansPerTrace: 2 });
    store.add([span(0, 0), span(0, 1), span(0, 2), span(0, 1)]);
    expect(store.get(hex(1, 32))?.spanCount).toBe(2);
    expect(store.dropped.trace_full).toBe(1);
    expect(store.received).toBe(4);
  });

  it('names a trace by its root span, else by the earliest span whose parent is missing', () => {
    const store = new TraceStore();
    store.add([span(0, 2), span(0, 1)]);
    expect(store.list()[0]).toMatchObject({ name: 'child 1', service: 'inventory' });
    store.add([span(0, 0)]);
    expect(store.list()[0]).toMatchObject({
      name: 'POST /orders',
      service: 'order',
      services: ['inventory', 'order'],
      durationMs: 5,
      startedAt: '1970-01-01T00:00:01.000Z',
    });
  });

  it('rejects bounds that are not positive integers', () => {
    expect(() => new TraceStore({ maxSpans: 0 })).toThrow('maxSpans must be a positive integer, got 0');
  });
});
