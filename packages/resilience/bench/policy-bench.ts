// Cost of the full dependency policy (fallback, bulkhead, retry + budget, circuit breaker, timeout, metrics)
// against a bare call, in process and around a localhost HTTP round trip, with cockatiel's own wrap of
// equivalent policies and opossum as anchors. Prints figures; never asserts timings.
import { createServer } from 'node:http';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import {
  bulkhead,
  circuitBreaker,
  CountBreaker,
  ExponentialBackoff,
  fallback,
  handleAll,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createDependencyPolicy } from '../src/policy/dependency-policy.ts';
import { createHttpClient } from '../src/http/http-client.ts';

type Call = () => Promise<unknown>;

const logger = pino({ level: 'warn' });
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

interface Result {
  /** Median µs per call over the rounds. */
  readonly us: number;
  /** Median over the rounds of (this variant - the bare call) in the same round: drift on a shared machine cancels out. */
  readonly addedUs: number;
}

/**
 * Runs the variants in many short interleaved rounds, so that load from other processes on the machine
 * hits every variant alike, and reports medians.
 */
async function measure(
  variants: Record<string, Call>,
  bareName: string,
  callsPerRound: number,
  rounds: number,
): Promise<Record<string, Result>> {
  const samples: Record<string, number[]> = {};
  for (const [name, call] of Object.entries(variants)) {
    samples[name] = [];
    for (let i = 0; i < callsPerRound * 5; i++) await call(); // warm-up
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, call] of Object.entries(variants)) {
      const started = performance.now();
      for (let i = 0; i < callsPerRound; i++) await call();
      samples[name]!.push(((performance.now() - started) * 1000) / callsPerRound);
    }
  }
  const bare = samples[bareName]!;
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [
      name,
      { us: median(values), addedUs: median(values.map((v, i) => v - bare[i]!)) },
    ]),
  );
}

/**
 * For calls of hundreds of µs: one call of each variant in turn (order rotating), each timed alone, so that
 * a burst of load from other processes hits every variant alike; medians of the single-call times.
 */
async function measurePerCall(
  variants: Record<string, Call>,
  bareName: string,
  callsPerVariant: number,
): Promise<Record<string, Result>> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = {};
  for (const name of names) {
    samples[name] = [];
    for (let i = 0; i < 300; i++) await variants[name]!(); // warm-up
  }
  for (let i = 0; i < callsPerVariant; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length]!;
      const started = performance.now();
      await variants[name]!();
      samples[name]!.push((performance.now() - started) * 1000);
    }
  }
  const bare = median(samples[bareName]!);
  return Object.fromEntries(
    names.map((name) => {
      const us = median(samples[name]!);
      return [name, { us, addedUs: us - bare }];
    }),
  );
}

function report(title: string, results: Record<string, Result>, bareName: string): void {
  const bare = results[bareName]!.us;
  console.log(`\n${title}`);
  console.log(
    'variant'.padEnd(36),
    'calls/s'.padStart(12),
    'µs/call'.padStart(10),
    'added µs'.padStart(10),
    'added'.padStart(8),
  );
  for (const [name, { us, addedUs }] of Object.entries(results)) {
    const isBare = name === bareName;
    console.log(
      name.padEnd(36),
      Math.round(1e6 / us)
        .toLocaleString('en-US')
        .padStart(12),
      us.toFixed(2).padStart(10),
      (isBare ? '' : addedUs.toFixed(2)).padStart(10),
      (isBare ? '' : `${((addedUs / bare) * 100).toFixed(1)}%`).padStart(8),
    );
  }
}

function cockatielStack() {
  return wrap(
    fallback(handleAll, () => undefined),
    bulkhead(32, 64),
    retry(handleAll, {
      maxAttempts: 2,
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5000 }),
    }),
    circuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new CountBreaker({ threshold: 0.5, size: 20, minimumNumberOfCalls: 10 }),
    }),
    timeout(2000, TimeoutStrategy.Cooperative),
  );
}

async function inProcess(): Promise<void> {
  const noop = async (): Promise<number> => 1;
  const policy = createDependencyPolicy('bench', {}, { registry: new Registry(), logger });
  const cockatiel = cockatielStack();
  const opossum = new OpossumBreaker(noop, {
    timeout: 2000,
    errorThresholdPercentage: 50,
    resetTimeout: 10_000,
  });
  const fallbackValue = (): number => 0;
  const results = await measure(
    {
      'bare async call': noop,
      'dependency policy (full stack)': () => policy.execute(noop),
      'dependency policy + fallback': () => policy.execute(noop, { fallback: fallbackValue }),
      'dependency policy, callee reads signal': () =>
        policy.execute((ctx) => Promise.resolve(ctx.signal.aborted)),
      'cockatiel wrap (5 policies)': () => cockatiel.execute(noop),
      'opossum fire': () => opossum.fire(),
    },
    'bare async call',
    2000,
    60,
  );
  report('In process: no-op async function (sequential awaits)', results, 'bare async call');
  policy.dispose();
  opossum.shutdown();
}

async function overHttp(): Promise<void> {
  const body = JSON.stringify({ ok: true });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Every variant gets its own keep-alive agent (one warm socket each), as createHttpClient has its own:
  // sharing one socket between some variants only would favour them.
  const agents: Agent[] = [];
  const axiosWithOwnAgent = () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    agents.push(agent);
    return axios.create({ baseURL, httpAgent: agent, validateStatus: () => true });
  };
  const [bare, bareAgain, bareSignal, underPolicy, underCockatiel, underOpossum] = Array.from(
    { length: 6 },
    axiosWithOwnAgent,
  );
  const client = createHttpClient(
    { dependency: 'bench-http', baseURL },
    { registry: new Registry(), logger },
  );
  const policy = createDependencyPolicy('bench-policy', {}, { registry: new Registry(), logger });
  const cockatiel = cockatielStack();
  const opossum = new OpossumBreaker((signal?: AbortSignal) => underOpossum!.get('/', { signal }), {
    timeout: 2000,
    errorThresholdPercentage: 50,
    resetTimeout: 10_000,
  });
  const bareName = 'bare axios GET (keep-alive)';
  const noiseName = 'bare axios GET again (noise floor)';
  const results = await measurePerCall(
    {
      [bareName]: () => bare!.get('/'),
      [noiseName]: () => bareAgain!.get('/'),
      'bare axios GET + AbortSignal': () => bareSignal!.get('/', { signal: new AbortController().signal }),
      'dependency policy around axios GET': () =>
        policy.execute(({ signal }) => underPolicy!.get('/', { signal })),
      'createHttpClient GET': () => client.get('/'),
      'cockatiel wrap around axios GET': () =>
        cockatiel.execute(({ signal }) => underCockatiel!.get('/', { signal })),
      'opossum around axios GET': () => opossum.fire(),
    },
    bareName,
    2500,
  );
  report('Localhost HTTP round trip (node:http server on 127.0.0.1, keep-alive agents)', results, bareName);
  console.log(
    `(medians of single calls, variants interleaved; the second bare row is identical to the first and ` +
      `shows the noise floor: ${results[noiseName]!.addedUs.toFixed(1)} µs)`,
  );
  client.dispose();
  policy.dispose();
  opossum.shutdown();
  for (const agent of agents) agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const started = performance.now();
console.log(`Node ${process.version}, ${process.platform} ${process.arch}`);
await inProcess();
await overHttp();
console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`);
