import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { isAxiosError, type AxiosResponse, type CreateAxiosDefaults, type Method } from 'axios';
import type { CircuitState } from '../breaker/circuit-breaker.ts';
import { systemClock } from '../clock/clock.ts';
import {
  createDependencyPolicy,
  type DependencyPolicy,
  type DependencyPolicyDeps,
  type DependencyPolicyOptions,
} from '../policy/dependency-policy.ts';
import { DependencyHttpError } from '../errors/errors.ts';
import type { Fallback } from '../fallback/fallback.ts';
import type { HealthCheck } from '../health/health-check.ts';
import { parseRetryAfter } from '../retry/retry-after.ts';
import { endClientSpan, startClientSpan } from './client-span.ts';

export interface HttpClientOptions extends DependencyPolicyOptions {
  /** Name in metrics, logs and errors (`inventory`). */
  readonly dependency: string;
  readonly baseURL: string;
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sockets per host of the keep-alive agent; default 64. */
  readonly maxSockets?: number;
  /**
   * Active half-open probing: when the circuit turns half-open, `GET path` goes through the policy
   * every `intervalMs` (default 200) until the circuit closes or opens again. Without it a client that
   * gets no traffic stays half-open (and its service degraded) until a real call arrives.
   */
  readonly halfOpenProbe?: { readonly path: string; readonly intervalMs?: number };
  /** Further axios settings; the client owns baseURL, agents, timeout, signal and validateStatus. */
  readonly axios?: Omit<
    CreateAxiosDefaults,
    'baseURL' | 'httpAgent' | 'httpsAgent' | 'timeout' | 'signal' | 'validateStatus'
  >;
}

export type QueryValue = string | number | boolean | undefined;

export interface HttpRequestOptions<T> {
  readonly headers?: Readonly<Record<string, string>>;
  readonly params?: Readonly<Record<string, QueryValue>>;
  /** Sent as `Idempotency-Key`; lets a POST or PATCH be retried. */
  readonly idempotencyKey?: string;
  /** Sent as `x-request-id`, so the dependency's logs join the caller's. */
  readonly requestId?: string;
  readonly signal?: AbortSignal;
  /** Response to return when the dependency fails (not on 4xx answers). */
  readonly fallback?: Fallback<HttpResponse<T>>;
}

export interface HttpRequest<T> extends HttpRequestOptions<T> {
  readonly method: Method;
  readonly url: string;
  readonly body?: unknown;
}

export interface HttpResponse<T> {
  readonly status: number;
  readonly data: T;
  readonly headers: Readonly<Record<string, string>>;
}

export interface HttpClient {
  readonly dependency: string;
  readonly policy: DependencyPolicy;
  readonly circuitState: CircuitState;
  /** Resolves with 2xx/3xx responses; rejects with DependencyHttpError (status, parsed body) or a ResilienceError. */
  request<T = unknown>(request: HttpRequest<T>): Promise<HttpResponse<T>>;
  get<T = unknown>(url: string, options?: HttpRequestOptions<T>): Promise<HttpResponse<T>>;
  delete<T = unknown>(url: string, options?: HttpRequestOptions<T>): Promise<HttpResponse<T>>;
  post<T = unknown>(url: string, body?: unknown, options?: HttpRequestOptions<T>): Promise<HttpResponse<T>>;
  put<T = unknown>(url: string, body?: unknown, options?: HttpRequestOptions<T>): Promise<HttpResponse<T>>;
  patch<T = unknown>(url: string, body?: unknown, options?: HttpRequestOptions<T>): Promise<HttpResponse<T>>;
  healthCheck(): HealthCheck;
  /** Disposes the policy and closes the keep-alive sockets. */
  dispose(): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Statuses worth another attempt: the dependency is overloaded or briefly unavailable. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * One client per dependency, with its own policy and keep-alive agent. Network errors, 5xx and 429 are
 * failures for the breaker; other 4xx are answers (never retried, never a failure). POST and PATCH are
 * retried only with an Idempotency-Key (or when the connection was refused, so nothing was sent).
 */
export function createHttpClient(options: HttpClientOptions, deps: DependencyPolicyDeps): HttpClient {
  const { dependency } = options;
  const clock = deps.clock ?? systemClock;
  const agents = createAgents(options.maxSockets ?? 64);
  const instance = axios.create({
    ...options.axios,
    baseURL: options.baseURL,
    ...agents.pooled,
    // The policy times attempts out through the signal; axios's own timeout would race it.
    timeout: 0,
    validateStatus: () => true,
    headers: { accept: 'application/json, application/problem+json', ...options.headers },
  });
  const policy = createDependencyPolicy(dependency, options, deps);

  const request = <T>(req: HttpRequest<T>): Promise<HttpResponse<T>> => {
    const method = req.method.toUpperCase();
    const safeToRetry = IDEMPOTENT.has(method) || req.idempotencyKey !== undefined;
    const headers: Record<string, string> = { ...req.headers };
    if (req.idempotencyKey !== undefined) headers['idempotency-key'] = req.idempotencyKey;
    if (req.requestId !== undefined) headers['x-request-id'] = req.requestId;
    const call = { dependency, method, url: req.url, safeToRetry };
    return policy.execute(
      async (ctx) => {
        // Each attempt (first, retry, hedge) is a span of its own in a sampled trace, with its traceparent.
        const attemptHeaders = { ...headers };
        const span = startClientSpan({ method, url: req.url, baseURL: options.baseURL }, attemptHeaders);
        let response: AxiosResponse<unknown>;
        try {
          response = await instance.request({
            method,
            url: req.url,
            data: req.body,
            params: req.params,
            headers: attemptHeaders,
            signal: ctx.signal,
            ...(ctx.freshConnection ? agents.fresh : {}),
          });
        } catch (error) {
          const failure = networkError(call, error);
          endClientSpan(span, { error: failure.networkCode ?? 'error' });
          throw failure;
        }
        endClientSpan(span, { status: response.status });
        return answerOf<T>(call, response, clock.now());
      },
      {
        ...(req.signal === undefined ? {} : { signal: req.signal }),
        ...(req.fallback === undefined ? {} : { fallback: req.fallback }),
        // Hedged only when a second copy of the request is harmless.
        hedge: safeToRetry,
        // Without an idempotency key a timed-out POST may have been applied: only retry what says so.
        ...(safeToRetry
          ? {}
          : { retryOn: (error: unknown) => error instanceof DependencyHttpError && error.retryable }),
      },
    );
  };

  const prober = options.halfOpenProbe
    ? probeHalfOpen(policy, options.halfOpenProbe, () =>
        request({ method: 'GET', url: options.halfOpenProbe!.path }),
      )
    : undefined;

  return {
    dependency,
    policy,
    get circuitState() {
      return policy.circuitState;
    },
    request,
    get: (url, opts) => request({ ...opts, method: 'GET', url }),
    delete: (url, opts) => request({ ...opts, method: 'DELETE', url }),
    post: (url, body, opts) => request({ ...opts, method: 'POST', url, body }),
    put: (url, body, opts) => request({ ...opts, method: 'PUT', url, body }),
    patch: (url, body, opts) => request({ ...opts, method: 'PATCH', url, body }),
    healthCheck: () => policy.healthCheck(),
    dispose() {
      prober?.dispose();
      policy.dispose();
      agents.destroy();
    },
  };
}

interface Agents {
  readonly pooled: { readonly httpAgent: HttpAgent; readonly httpsAgent: HttpsAgent };
  readonly fresh: { readonly httpAgent: HttpAgent; readonly httpsAgent: HttpsAgent };
  destroy(): void;
}

/**
 * The keep-alive pool for first attempts, and agents without keep-alive for retries and hedges: those
 * open a connection of their own (closed after the answer), because the pooled socket of a timed-out
 * attempt may be pinned to a replica that stopped answering, and a Service or front proxy balances per
 * connection, so only a new connection is routed anew.
 */
function createAgents(maxSockets: number): Agents {
  // keepAliveMsecs as axios sets it per socket, so the agent does not reset it on every request.
  const pooledOptions = { keepAlive: true, keepAliveMsecs: 60_000, maxSockets };
  const pooled = { httpAgent: new HttpAgent(pooledOptions), httpsAgent: new HttpsAgent(pooledOptions) };
  const fresh = {
    httpAgent: new HttpAgent({ keepAlive: false }),
    httpsAgent: new HttpsAgent({ keepAlive: false }),
  };
  return {
    pooled,
    fresh,
    destroy() {
      for (const agent of [pooled.httpAgent, pooled.httpsAgent, fresh.httpAgent, fresh.httpsAgent])
        agent.destroy();
    },
  };
}

interface CallInfo {
  readonly dependency: string;
  readonly method: string;
  readonly url: string;
  readonly safeToRetry: boolean;
}

/** No answer (refused, reset, DNS, aborted) as a DependencyHttpError. */
function networkError(call: CallInfo, error: unknown): DependencyHttpError {
  const { dependency, method, url, safeToRetry } = call;
  if (isAxiosError(error) && error.response === undefined) {
    const networkCode = error.code ?? 'ENETWORK';
    return new DependencyHttpError(dependency, {
      method,
      url,
      networkCode,
      // A refused connection sent nothing, so even a POST can go again.
      retryable: safeToRetry || networkCode === 'ECONNREFUSED',
      countsAsFailure: true,
      cause: error,
    });
  }
  return new DependencyHttpError(dependency, {
    method,
    url,
    retryable: false,
    countsAsFailure: true,
    cause: error,
  });
}

/** A 2xx/3xx answer as the response; any other status thrown as a DependencyHttpError. */
function answerOf<T>(call: CallInfo, response: AxiosResponse<unknown>, nowMs: number): HttpResponse<T> {
  const headers = plainHeaders(response.headers);
  if (response.status < 400) return { status: response.status, data: response.data as T, headers };
  const retryAfterMs = parseRetryAfter(headers['retry-after'], nowMs);
  throw new DependencyHttpError(call.dependency, {
    method: call.method,
    url: call.url,
    status: response.status,
    retryable: call.safeToRetry && RETRYABLE_STATUS.has(response.status),
    countsAsFailure: response.status >= 500 || response.status === 429,
    body: response.data,
    headers,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/**
 * Active half-open probing: while the circuit is half-open, `probe()` goes through the policy every
 * `intervalMs`, so a client without traffic of its own does not stay half-open.
 */
function probeHalfOpen(
  policy: DependencyPolicy,
  options: { readonly intervalMs?: number },
  probe: () => Promise<unknown>,
): { dispose(): void } {
  let disposed = false;
  let probing = false;
  const subscription = policy.onCircuitStateChange(({ to }) => {
    if (to !== 'half-open' || probing) return;
    probing = true;
    void (async () => {
      while (!disposed && policy.circuitState === 'half-open') {
        // Its outcome is what the breaker counts; a rejection only means the probe slots are taken.
        await probe().catch(() => undefined);
        if (policy.circuitState !== 'half-open') break;
        await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200).unref());
      }
      probing = false;
    })();
  });
  return {
    dispose() {
      disposed = true;
      subscription.dispose();
    },
  };
}

function plainHeaders(headers: AxiosResponse['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') result[name.toLowerCase()] = value;
    else if (typeof value === 'number') result[name.toLowerCase()] = String(value);
    else if (Array.isArray(value)) result[name.toLowerCase()] = value.join(', ');
  }
  return result;
}
