import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { DEFAULT_PRODUCTS, fetchProducts, randomOrder } from './order-body.ts';
import { LOCAL_PORTS, TRACEPARENT_HEADER } from '@self-healing-shop/contracts';
import { Percentiles, type LatencySummary } from './percentiles.ts';
import { localUrl } from './target.ts';
import { newTraceParent } from './traceparent.ts';

export const MAX_RATE = 5_000;
export const MAX_DURATION_MS = 3_600_000;
/** Failed requests whose trace the report keeps at most (the first ones: a run's failures start together). */
export const MAX_FAILED_TRACES = 500;

export interface LoadOptions {
  /** The order front, e.g. http://127.0.0.1:8080 (POSTs go to /orders), or a full URL with its path. */
  readonly url: string;
  /** Requests per second, sent on schedule whatever the responses do (open model). */
  readonly rate: number;
  /** Default 10 s. */
  readonly durationMs?: number;
  /** Stops after this many requests (default: rate × duration). */
  readonly maxRequests?: number;
  /**
   * Every request is due at the start: `maxRequests` orders at once (the burst experiment's N
   * concurrent orders), `rate` is then only the bound of the validation. Default false.
   */
  readonly burst?: boolean;
  /** A fixed body, or one made per request; default: random orders of `products`. */
  readonly body?: unknown | (() => unknown);
  /** Product ids to order; default: GET /products of `productsUrl`, else p-001..p-010. */
  readonly products?: readonly string[];
  /** The inventory front (default: the url's host on port 8081). */
  readonly productsUrl?: string;
  /** Per request (default 5 s): slower counts as `timeout`. */
  readonly timeoutMs?: number;
  /** Requests in flight at most; a request due beyond it is dropped as `overload` (default max(64, 2 × rate)). */
  readonly maxInFlight?: number;
  readonly signal?: AbortSignal;
  readonly random?: () => number;
  /**
   * Send a fresh sampled W3C `traceparent` on every request, and keep the trace of every failed one
   * (default true). false sends none: the services' own sampling decides.
   */
  readonly trace?: boolean;
}

/** A request that failed (any answer but 2xx, or a transport error), with the trace it started. */
export interface FailedRequest {
  readonly traceId: string;
  /** `http_503`, `ECONNRESET`, `timeout`, ... as in errorsByKind. */
  readonly kind: string;
  /** The request's Idempotency-Key (the order has no id when it failed). */
  readonly idempotencyKey: string;
  /** ISO 8601, when it was sent. */
  readonly at: string;
}

export interface LoadSnapshot {
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly elapsedMs: number;
  /** Responses per second over the last second. */
  readonly rps: number;
  readonly p99: number;
}

export interface LoadReport {
  /** Requests due on the schedule, including those dropped as `overload`. */
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  /** succeeded / sent (1 when nothing was sent). */
  readonly successRatio: number;
  /** Of the requests that got a response (any status). */
  readonly latencyMs: LatencySummary;
  /** Ids of the orders answered 201 (acknowledged): each must be readable afterwards. */
  readonly acknowledged: readonly string[];
  /** `http_503`, `http_409`, `ECONNREFUSED`, `ECONNRESET`, `timeout`, `overload`, ... */
  readonly errorsByKind: Record<string, number>;
  /**
   * The first MAX_FAILED_TRACES failed requests with their trace id (requests dropped as `overload`
   * were never sent and have none); empty with `trace: false`.
   */
  readonly failedTraces: readonly FailedRequest[];
  /** Failed requests with a trace beyond the list's bound. */
  readonly failedTracesOmitted: number;
  readonly durationMs: number;
  /** The target rate. */
  readonly rate: number;
  /** What was achieved: sent / scheduling time. */
  readonly achievedRate: number;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly products: readonly string[];
}

export interface LoadHandle {
  snapshot(): LoadSnapshot;
  /** Stops scheduling; requests in flight finish (bounded by timeoutMs). */
  stop(): void;
  readonly done: Promise<LoadReport>;
}

/** The `id` of an order answered 201, or undefined when the body has none (the order is not tracked). */
async function acknowledgedId(body: { text(): Promise<string> }): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await body.text()) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}

function errorKind(error: unknown, timedOut: boolean): string {
  if (timedOut) return 'timeout';
  const code = (error as { code?: unknown }).code;
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
    return 'timeout';
  if (code === 'UND_ERR_SOCKET') return 'ECONNRESET';
  if (typeof code === 'string') return code;
  return (error as Error).name || 'error';
}

function validate(options: LoadOptions): {
  target: URL;
  productsUrl: URL;
  durationMs: number;
  maxRequests: number;
} {
  const target = localUrl(options.url);
  if (target.pathname === '/' || target.pathname === '') target.pathname = '/orders';
  if (!Number.isFinite(options.rate) || options.rate <= 0 || options.rate > MAX_RATE) {
    throw new RangeError(`rate must be between 1 and ${MAX_RATE} requests per second, got ${options.rate}`);
  }
  const durationMs = options.durationMs ?? 10_000;
  if (!Number.isFinite(durationMs) || durationMs <= 0 || durationMs > MAX_DURATION_MS) {
    throw new RangeError(
      `duration must be more than 0 and at most ${MAX_DURATION_MS / 60_000} minutes, got ${durationMs} ms`,
    );
  }
  const defaultProducts = new URL(target.origin);
  if (defaultProducts.port === String(LOCAL_PORTS.order))
    defaultProducts.port = String(LOCAL_PORTS.inventory);
  const productsUrl = localUrl(options.productsUrl ?? defaultProducts.href, 'productsUrl');
  const maxRequests = options.maxRequests ?? Math.ceil((options.rate * durationMs) / 1000);
  if (options.burst && options.maxRequests === undefined) throw new RangeError('a burst needs maxRequests');
  return { target, productsUrl, durationMs, maxRequests };
}

/** One POST /orders: the status and, for a 201, the order's id. Throws on a transport error. */
async function postOrder(
  pool: Pool,
  target: URL,
  request: { body: string; idempotencyKey: string; traceparent: string | undefined },
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ status: number; id?: string }> {
  const { body, idempotencyKey, traceparent } = request;
  const response = await pool.request({
    path: `${target.pathname}${target.search}`,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey,
      'x-request-id': `loadgen-${randomUUID()}`,
      ...(traceparent === undefined ? {} : { [TRACEPARENT_HEADER]: traceparent }),
    },
    body,
    signal,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  if (response.statusCode !== 201) {
    await response.body.dump();
    return { status: response.statusCode };
  }
  return { status: 201, id: await acknowledgedId(response.body) };
}

/** The counters of a run: what was sent, how it was answered, how fast. */
class Tally {
  sent = 0;
  succeeded = 0;
  failed = 0;
  inFlight = 0;
  readonly errorsByKind: Record<string, number> = {};
  readonly latencies = new Percentiles();
  readonly acknowledged: string[] = [];
  readonly failedTraces: FailedRequest[] = [];
  failedTracesOmitted = 0;
  /** When the responses of the last second came (for the live rate). */
  readonly #recent: number[] = [];

  fail(kind: string): void {
    this.failed += 1;
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
  }

  answered(answer: { status: number; id?: string }, began: number, now: number): void {
    this.latencies.record(now - began);
    this.#recent.push(now);
    if (answer.id !== undefined) this.acknowledged.push(answer.id);
    if (answer.status >= 200 && answer.status < 300) this.succeeded += 1;
    else this.fail(`http_${answer.status}`);
  }

  errored(kind: string, now: number): void {
    this.#recent.push(now);
    this.fail(kind);
  }

  traced(failure: FailedRequest): void {
    if (this.failedTraces.length < MAX_FAILED_TRACES) this.failedTraces.push(failure);
    else this.failedTracesOmitted += 1;
  }

  responsesInLastSecond(now: number): number {
    while (this.#recent.length > 0 && this.#recent[0]! < now - 1000) this.#recent.shift();
    return this.#recent.length;
  }
}

/** The report of a finished run; times from performance.now(), dates from the wall clock at the start. */
function reportOf(
  tally: Tally,
  rate: number,
  products: readonly string[],
  t: { startedAt: number; startedWall: number; schedulingEnded: number; endedAt: number },
): LoadReport {
  const schedulingMs = Math.max(1, t.schedulingEnded - t.startedAt);
  return {
    sent: tally.sent,
    succeeded: tally.succeeded,
    failed: tally.failed,
    successRatio: tally.sent === 0 ? 1 : tally.succeeded / tally.sent,
    latencyMs: tally.latencies.summary(),
    acknowledged: [...tally.acknowledged],
    errorsByKind: { ...tally.errorsByKind },
    failedTraces: [...tally.failedTraces],
    failedTracesOmitted: tally.failedTracesOmitted,
    durationMs: Math.round(t.endedAt - t.startedAt),
    rate,
    achievedRate: Math.round((tally.sent / schedulingMs) * 1000 * 10) / 10,
    startedAt: new Date(t.startedWall).toISOString(),
    endedAt: new Date(t.startedWall + (t.endedAt - t.startedAt)).toISOString(),
    products,
  };
}

/** The body of each order: the fixed one, the function's, or a random order of the products. */
function bodyMaker(options: LoadOptions, products: () => readonly string[]): () => string {
  const random = options.random ?? Math.random;
  return () => {
    const body =
      typeof options.body === 'function'
        ? (options.body as () => unknown)()
        : (options.body ?? randomOrder(products(), random));
    return typeof body === 'string' ? body : JSON.stringify(body);
  };
}

/**
 * Sends orders at a fixed rate (open model: each on schedule, not waiting for earlier responses) over
 * keep-alive connections, for `durationMs` or `maxRequests`, whichever comes first.
 */
export function startLoad(options: LoadOptions): LoadHandle {
  const { target, productsUrl, durationMs, maxRequests } = validate(options);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxInFlight =
    options.maxInFlight ?? Math.max(64, Math.ceil(options.rate * 2), options.burst ? maxRequests : 0);
  const pool = new Pool(target.origin, { connections: Math.min(maxInFlight, 256), keepAliveTimeout: 30_000 });
  const tally = new Tally();
  let stopped = false;
  let startedAt = performance.now();
  let startedWall = Date.now();
  let schedulingEnded = startedAt;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let products: readonly string[] = options.products ?? DEFAULT_PRODUCTS;
  let wake: () => void = () => undefined;

  const bodyFor = bodyMaker(options, () => products);
  const tracing = options.trace ?? true;

  const send = async (): Promise<void> => {
    tally.sent += 1;
    if (tally.inFlight >= maxInFlight) return tally.fail('overload');
    tally.inFlight += 1;
    const began = performance.now();
    const sentAt = new Date().toISOString();
    const timeout = AbortSignal.timeout(timeoutMs);
    const parent = tracing ? newTraceParent() : undefined;
    const request = { body: bodyFor(), idempotencyKey: randomUUID(), traceparent: parent?.header };
    const failed = (kind: string) =>
      parent &&
      tally.traced({ traceId: parent.traceId, kind, idempotencyKey: request.idempotencyKey, at: sentAt });
    try {
      const answer = await postOrder(pool, target, request, timeout, timeoutMs);
      tally.answered(answer, began, performance.now());
      if (answer.status < 200 || answer.status >= 300) failed(`http_${answer.status}`);
    } catch (error) {
      const kind = errorKind(error, timeout.aborted);
      tally.errored(kind, performance.now());
      failed(kind);
    } finally {
      tally.inFlight -= 1;
      if (tally.inFlight === 0) wake();
    }
  };

  const tick = () => {
    if (stopped) return;
    const now = performance.now();
    const due = options.burst
      ? maxRequests
      : Math.min(maxRequests, Math.floor(((now - startedAt) * options.rate) / 1000) + 1);
    while (tally.sent < due) void send();
    if (tally.sent >= maxRequests || now - startedAt >= durationMs) {
      finish();
      return;
    }
    const next = startedAt + (tally.sent * 1000) / options.rate;
    timer = setTimeout(tick, Math.max(0, Math.min(next, startedAt + durationMs) - performance.now()));
  };

  let finish: () => void = () => undefined;
  const done = (async (): Promise<LoadReport> => {
    if (!options.products && options.body === undefined)
      products = (await fetchProducts(productsUrl)) ?? DEFAULT_PRODUCTS;
    const ended = new Promise<void>((resolve) => {
      finish = () => {
        if (!stopped) schedulingEnded = performance.now();
        stopped = true;
        clearTimeout(timer);
        resolve();
      };
    });
    options.signal?.addEventListener('abort', () => finish(), { once: true });
    if (options.signal?.aborted || stopped) finish();
    startedAt = performance.now();
    startedWall = Date.now();
    tick();
    await ended;
    if (tally.inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
    await pool.close();
    return reportOf(tally, options.rate, products, {
      startedAt,
      startedWall,
      schedulingEnded,
      endedAt: performance.now(),
    });
  })();

  return {
    snapshot() {
      const now = performance.now();
      return {
        sent: tally.sent,
        succeeded: tally.succeeded,
        failed: tally.failed,
        inFlight: tally.inFlight,
        elapsedMs: Math.round(now - startedAt),
        rps: tally.responsesInLastSecond(now),
        p99: tally.latencies.summary().p99,
      };
    },
    stop() {
      if (stopped) return;
      finish();
      stopped = true;
    },
    done,
  };
}
