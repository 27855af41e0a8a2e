// Prints what a frozen replica and a burst cost through the dependency policy, with and without the
// gray-failure steps: two replicas behind a per-connection round-robin TCP proxy on 127.0.0.1, as in
// test/gray-failure.test.ts. Figures only; it never fails on them.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../src/index.ts';
import { startReplica, startRoundRobinProxy, type ReplicaOptions } from '../test/support/replicas.ts';

type Policy = Omit<HttpClientOptions, 'dependency' | 'baseURL'>;

const BREAKER: Policy['circuitBreaker'] = {
  failureDetector: { kind: 'count', size: 20, failureRatePercent: 50, minimumCalls: 10 },
  coolDownMs: 2000,
};
const BASE: Policy = {
  timeoutMs: 1000,
  deadlineMs: 3000,
  retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 500, minAttemptMs: 100 },
  circuitBreaker: BREAKER,
  bulkhead: { maxConcurrent: 64, maxQueue: 256 },
};
const GRAY: Policy = {
  ...BASE,
  concurrencyLimit: { initialLimit: 20, minLimit: 4, maxLimit: 64 },
  hedging: { maxHedgedAttempts: 2, minDelayMs: 25, maxDelayMs: 250 },
};

interface Figures {
  readonly calls: number;
  readonly failed: number;
  readonly opened: number;
  readonly hedgesWon: number;
  readonly seconds: number;
}

async function scenario(
  policy: Policy,
  replicaOptions: ReplicaOptions,
  act: (client: HttpClient, freeze: () => void) => Promise<number>,
): Promise<Figures> {
  const replicas = [await startReplica('a', replicaOptions), await startReplica('b', replicaOptions)];
  const proxy = await startRoundRobinProxy(replicas);
  const registry = new Registry();
  const client = createHttpClient(
    { ...policy, dependency: 'inventory', baseURL: proxy.url, maxSockets: 256 },
    { registry, logger: pino({ level: 'silent' }) },
  );
  let opened = 0;
  client.policy.onCircuitStateChange(({ to }) => void (to === 'open' && opened++));
  const started = performance.now();
  const calls = await act(client, () => replicas[0]!.freeze());
  const seconds = (performance.now() - started) / 1000;
  const metric = await registry.getSingleMetric('resilience_calls_total')!.get();
  const success = metric.values.find((v) => v.labels.outcome === 'success')?.value ?? 0;
  const hedges = await registry.getSingleMetric('resilience_hedges_total')?.get();
  const hedgesWon = hedges?.values.find((v) => v.labels.outcome === 'won')?.value ?? 0;
  client.dispose();
  await proxy.close();
  for (const replica of replicas) await replica.close();
  return { calls, failed: calls - success, opened, hedgesWon, seconds };
}

/** `total` keyed POSTs at `ratePerSecond`, each on its own (open loop, like the load generator). */
async function openLoop(client: HttpClient, total: number, ratePerSecond: number): Promise<void> {
  const pending: Array<Promise<unknown>> = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(client.post('/reservations', {}, { idempotencyKey: `k-${i}` }).catch(() => undefined));
  }
  await Promise.all(pending);
}

const frozen = (policy: Policy) =>
  scenario(policy, {}, async (client, freeze) => {
    await openLoop(client, 100, 100);
    freeze();
    await openLoop(client, 600, 30);
    return 700;
  });

const burst = (policy: Policy) =>
  scenario({ ...policy, timeoutMs: 250 }, { concurrency: 2, workMs: 10 }, async (client) => {
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.post('/reservations', {}, { idempotencyKey: `b-${i}` }).catch(() => undefined),
      ),
    );
    return 200;
  });

const rows: Array<[string, Figures]> = [
  ['one of two replicas frozen, 30 calls/s, retries only', await frozen(BASE)],
  ['one of two replicas frozen, 30 calls/s, gray-failure policy', await frozen(GRAY)],
  ['200 concurrent calls, replica serves 2 at a time, no limit', await burst({ ...BASE, bulkhead: false })],
  [
    '200 concurrent calls, replica serves 2 at a time, adaptive limit',
    await burst({ ...GRAY, bulkhead: false }),
  ],
];
console.log(`gray-failure bench, ${new Date().toISOString()}, Node ${process.version}`);
console.log('scenario | calls | failed | failed % | circuit opened | hedges won | seconds');
for (const [name, f] of rows) {
  const percent = ((100 * f.failed) / f.calls).toFixed(2);
  console.log(
    `${name} | ${f.calls} | ${f.failed} | ${percent} | ${f.opened} | ${f.hedgesWon} | ${f.seconds.toFixed(1)}`,
  );
}
