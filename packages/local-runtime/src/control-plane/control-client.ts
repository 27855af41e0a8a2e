import { DEFAULT_CONTROL_URL } from '@self-healing-shop/contracts';
import type {
  ReplicaSignal,
  ReplicaView,
  RolloutRequest,
  RolloutView,
  RuntimeEvent,
  RuntimeInfo,
  WorkloadView,
} from '@self-healing-shop/contracts';

/** Nothing answers on the control API's address. */
export class RuntimeNotRunningError extends Error {
  constructor(url: string) {
    super(`the local runtime is not running (nothing answers on ${url}): run make up`);
    this.name = 'RuntimeNotRunningError';
  }
}

/** A typed client of the control API (CLI, chaos target, tests). */
export class ControlClient {
  readonly url: string;

  constructor(url = DEFAULT_CONTROL_URL) {
    this.url = url.replace(/\/$/, '');
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new RuntimeNotRunningError(this.url);
    }
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      try {
        detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new Error(`${method} ${path}: ${response.status} ${detail}`);
    }
    return JSON.parse(text) as T;
  }

  async replicas(): Promise<ReplicaView[]> {
    return (await this.#request<{ items: ReplicaView[] }>('GET', '/replicas')).items;
  }

  /** Deployments and the database's StatefulSet. */
  async workloads(): Promise<WorkloadView[]> {
    return (await this.#request<{ items: WorkloadView[] }>('GET', '/workloads')).items;
  }

  status(): Promise<RuntimeInfo> {
    return this.#request('GET', '/status');
  }

  /** SIGKILL / SIGTERM kill (the replica is replaced); SIGSTOP freezes it, SIGCONT thaws it. */
  async kill(replica: string, signal: ReplicaSignal = 'SIGKILL'): Promise<void> {
    await this.#request('POST', `/replicas/${encodeURIComponent(replica)}/kill`, { signal });
  }

  async restart(workload: string): Promise<void> {
    await this.#request('POST', `/workloads/${encodeURIComponent(workload)}/restart`);
  }

  /** A new template revision of a Deployment (PATCH /deployments/:name), rolled out by the runtime. */
  rollout(deployment: string, change: RolloutRequest): Promise<RolloutView> {
    return this.#request('PATCH', `/deployments/${encodeURIComponent(deployment)}`, change);
  }

  /** `rollout undo`: back to the previous template revision. */
  undo(deployment: string): Promise<RolloutView> {
    return this.#request('POST', `/deployments/${encodeURIComponent(deployment)}/rollback`);
  }

  /** Follows GET /events (SSE) from after `after` (default: only new events) until `signal` aborts. */
  async *events(options: { after?: number; signal?: AbortSignal } = {}): AsyncGenerator<RuntimeEvent> {
    const query = options.after === undefined ? '' : `?after=${options.after}`;
    let response: Response;
    try {
      response = await fetch(`${this.url}/events${query}`, { signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error instanceof Error && error.name === 'AbortError'
        ? error
        : new RuntimeNotRunningError(this.url);
    }
    if (!response.ok || !response.body) throw new Error(`GET /events: ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data) yield JSON.parse(data) as RuntimeEvent;
        }
      }
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
  }
}
