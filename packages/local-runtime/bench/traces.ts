// The trace receiver's cost: OTLP/HTTP JSON exports of 100 traces × 5 spans (about one OTel SDK batch,
// each with new ids; the body is built in the same process) posted to the control API's /v1/traces, then the store's heap when full (its default bound of
// 50,000 spans) and the time of a query over it. Prints figures, never fails on timing.
// Usage: pnpm --filter @self-healing-shop/local-runtime bench:traces [-- --exports 200]
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createControlApi } from '../src/control-plane/control-api.ts';
import { EventLog } from '../src/control-plane/event-log.ts';
import { TraceStore } from '../src/tracing/trace-store.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { exports: { type: 'string', default: '200' } },
});
const EXPORTS = Number(values.exports);
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function exportBody(): string {
  const spans = [];
  const now = BigInt(Date.now()) * 1_000_000n;
  for (let t = 0; t < 100; t += 1) {
    const traceId = hex(16);
    let parent: string | undefined;
    for (let s = 0; s < 5; s += 1) {
      const spanId = hex(8);
      spans.push({
        traceId,
        spanId,
        ...(parent ? { parentSpanId: parent } : {}),
        name: s === 0 ? 'POST /orders' : `step ${s}`,
        kind: 2,
        startTimeUnixNano: String(now + BigInt(s) * 1_000_000n),
        endTimeUnixNano: String(now + 20_000_000n),
        attributes: [
          { key: 'shop.order.id', value: { stringValue: `ord-${traceId.slice(0, 8)}` } },
          { key: 'http.response.status_code', value: { intValue: '201' } },
        ],
        events: s === 1 ? [{ name: 'resilience.retry', timeUnixNano: String(now + 2_000_000n) }] : [],
        status: { code: 0 },
      });
      parent = spanId;
    }
  }
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'order' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  });
}

const store = new TraceStore();
const { server } = createControlApi({
  events: new EventLog(),
  replicas: () => [],
  workloads: () => [],
  kill: () => false,
  restart: () => false,
  metrics: async () => '',
  info: () => {
    throw new Error('not used');
  },
  traces: store,
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
for (let i = 0; i < EXPORTS; i += 1) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: exportBody(),
  });
  if (response.status !== 200) throw new Error(`export answered ${response.status}`);
  await response.arrayBuffer();
}
const seconds = (performance.now() - started) / 1000;
global.gc?.();
const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
const timed = () => {
  const t = performance.now();
  const items = store.list({ orderId: 'ord-none' });
  return { ms: performance.now() - t, found: items.length };
};
// The first query summarises every trace; later ones reuse the summaries until a trace changes.
const first = timed();
const again = timed();
console.log(
  `exports: ${EXPORTS} × 500 spans in ${seconds.toFixed(2)} s = ${Math.round((EXPORTS * 500) / seconds)} spans/s received`,
);
console.log(
  `store: ${store.spanCount} spans kept (bound ${store.maxSpans}), ${store.dropped.evicted} evicted, heap +${heapMiB.toFixed(1)} MiB${global.gc ? '' : ' (run with --expose-gc for a steadier figure)'}`,
);
console.log(
  `query by order id over ${store.traceCount} traces: ${first.ms.toFixed(1)} ms first, ${again.ms.toFixed(1)} ms again (${again.found} found)`,
);
server.closeAllConnections();
server.close();
