// What tracing costs a request the door turns away (the 99 % at the default ratio): the sampler's
// decision on the request's headers, timed over a million calls per case. Together with the cost of a
// traced request (order's bench:tracing) it gives the expected overhead of a sampling ratio, which the
// whole-platform bench can only bracket within its run-to-run noise. Prints figures, never fails.
import { loadavg } from 'node:os';
import { admitsRequest, configuredSampler } from '../src/tracing/tracing-sdk.ts';
import { DEFAULT_SAMPLE_RATIO } from '../src/tracing/tracing-config.ts';

const CALLS = 1_000_000;
const headers = {
  'content-type': 'application/json',
  'idempotency-key': '6f1c0d4e-1b7a-4d8e-9a43-5c2f8e7d9b10',
};
const unsampledParent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
const cases = [
  {
    name: `edge, no traceparent (parentbased_traceidratio ${DEFAULT_SAMPLE_RATIO})`,
    sampler: configuredSampler({ sampler: 'parentbased_traceidratio', ratio: DEFAULT_SAMPLE_RATIO }),
    headers,
  },
  {
    name: 'edge, unsampled traceparent',
    sampler: configuredSampler({ sampler: 'parentbased_traceidratio', ratio: DEFAULT_SAMPLE_RATIO }),
    headers: { ...headers, traceparent: unsampledParent },
  },
  {
    name: 'inner service, no traceparent (parentbased_always_off)',
    sampler: configuredSampler({ sampler: 'parentbased_always_off', ratio: 1 }),
    headers,
  },
];

console.log(
  `${new Date().toISOString()} (load average ${loadavg()[0]!.toFixed(1)}): the door's decision, ${CALLS.toLocaleString('en')} calls per case`,
);
for (const c of cases) {
  let admitted = 0;
  for (let i = 0; i < CALLS / 5; i++) if (admitsRequest(c.sampler, c.headers, '/orders')) admitted++;
  admitted = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) if (admitsRequest(c.sampler, c.headers, '/orders')) admitted++;
  const ns = Number(process.hrtime.bigint() - started) / CALLS;
  console.log(
    `${c.name.padEnd(62)} ${(ns / 1000).toFixed(2).padStart(6)} µs per request   (admitted ${admitted})`,
  );
}
