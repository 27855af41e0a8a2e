import {
  TargetError,
  type EventSubscription,
  type FaultSpec,
  type KillOptions,
  type KillResult,
  type Replica,
  type Target,
  type TargetEvent,
  type TargetEventType,
  type WorkloadStatus,
} from '../target.ts';
import { openSse, type SseStream } from './sse.ts';

export interface LocalTargetOptions {
  /** Control API of the local runtime, `http://127.0.0.1:7070`. */
  controlUrl: string;
  faultToken: string;
  now?: () => number;
}

interface ReplicaItem {
  name: string;
  service: string;
  uid: string;
  pid?: number;
  port: number;
  phase: string;
  ready: boolean;
  labels?: Record<string, string>;
}

interface DeploymentItem {
  name: string;
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  generation: number;
  observedGeneration: number;
  labels?: Record<string, string>;
}

/** One event of the runtime's `GET /events` stream (README contract). */
export interface RuntimeEvent {
  seq: number;
  at: string | number;
  type: 'started' | 'ready' | 'unready' | 'killed' | 'exited' | 'replaced' | 'scaled' | 'backoff';
  service: string;
  /** null for Deployment events (`scaled`). */
  replica: string | null;
  uid: string | null;
  reason?: string;
}

const EVENT_TYPES: Record<RuntimeEvent['type'], TargetEventType | undefined> = {
  started: 'replica-added',
  // `replaced` names the replica that was replaced (its successor appears as `started`).
  replaced: undefined,
  ready: 'replica-ready',
  unready: 'replica-unready',
  killed: 'replica-terminating',
  exited: 'replica-gone',
  scaled: 'scaled',
  backoff: undefined,
};

const PROTECTED = 'chaos.self-healing-shop/protected';

function toStatus(d: DeploymentItem): WorkloadStatus {
  return {
    name: d.name,
    desired: d.replicas,
    ready: d.readyReplicas,
    updated: d.updatedReplicas,
    available: d.availableReplicas,
    generation: d.generation,
    observedGeneration: d.observedGeneration,
    protected: d.labels?.[PROTECTED] === 'true',
  };
}

/** The local runtime's control API (`packages/local-runtime`): replicas are processes. */
export class LocalTarget implements Target {
  readonly kind = 'local' as const;
  readonly description: string;
  readonly #base: string;
  readonly #faultToken: string;
  readonly #now: () => number;

  constructor(options: LocalTargetOptions) {
    this.#base = options.controlUrl.replace(/\/$/, '');
    this.#faultToken = options.faultToken;
    this.#now = options.now ?? Date.now;
    this.description = `local runtime at ${this.#base}`;
  }

  async #request<T>(path: string, init?: RequestInit): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, init);
    } catch (error) {
      throw new TargetError(
        `the local runtime's control API at ${this.#base} is not reachable (${(error as Error).message}): ` +
          'start the platform with `make up` (RUNTIME=local) first',
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new TargetError(
        `${init?.method ?? 'GET'} ${this.#base}${path} answered ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async listReplicas(): Promise<Replica[]> {
    const { items } = await this.#request<{ items: ReplicaItem[] }>('/replicas');
    return items
      .map((r) => ({
        name: r.name,
        workload: r.service,
        uid: r.uid,
        ready: r.ready,
        phase: r.phase,
        protected: r.labels?.[PROTECTED] === 'true',
        url: `http://127.0.0.1:${r.port}`,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async listWorkloads(): Promise<WorkloadStatus[]> {
    const { items } = await this.#request<{ items: DeploymentItem[] }>('/deployments');
    return items.map(toStatus);
  }

  /**
   * Reads the runtime's SSE stream. Each replica event is followed by the Deployment's status read
   * right after it (event-driven, not polled). A dropped stream is resumed with Last-Event-ID.
   */
  async subscribe(onEvent: (event: TargetEvent) => void): Promise<EventSubscription> {
    // Start from sequence 0 so that the stream always has a position to resume from; the history
    // replayed first (events before this subscription) updates the position but is not dispatched.
    let lastSeq = '0';
    const since = this.#now();
    let stream: SseStream | undefined;
    let closed = false;
    // Events are handled one after another so a status read never overtakes the event it follows.
    let queue = Promise.resolve();

    const handle = async (event: RuntimeEvent): Promise<void> => {
      const type = EVENT_TYPES[event.type];
      const at = typeof event.at === 'number' ? event.at : Date.parse(event.at);
      const when = Number.isFinite(at) ? at : this.#now();
      if (type && type !== 'scaled') {
        onEvent({
          at: when,
          type,
          workload: event.service,
          replica: event.replica ?? undefined,
          uid: event.uid ?? undefined,
          source: event.type,
        });
      }
      const statuses = await this.listWorkloads().catch(() => []);
      const status = statuses.find((s) => s.name === event.service);
      if (!status) return;
      const observedAt = Math.max(when, this.#now());
      if (type === 'scaled') {
        onEvent({ at: when, type, workload: event.service, status, source: event.reason ?? 'scaled' });
      }
      onEvent({
        at: observedAt,
        type: 'workload-status',
        workload: event.service,
        status,
        source: event.type,
      });
    };

    let failures = 0;
    const connect = (): SseStream => {
      const s = openSse({
        url: `${this.#base}/events`,
        lastEventId: lastSeq,
        onMessage: (message) => {
          let event: RuntimeEvent;
          try {
            event = JSON.parse(message.data) as RuntimeEvent;
          } catch {
            return;
          }
          failures = 0;
          lastSeq = message.id ?? String(event.seq);
          if (Date.parse(String(event.at)) < since) return;
          queue = queue.then(() => handle(event)).catch((error: unknown) => console.error(error));
        },
        onEnd: (error) => {
          if (closed) return;
          // Resume from the last sequence number seen, so the replay fills the gap; give up after 20 tries.
          failures += 1;
          if (failures > 20) {
            console.error(`local runtime event stream lost${error ? ` (${error.message})` : ''}; giving up`);
            return;
          }
          setTimeout(
            () => {
              if (!closed) stream = connect();
            },
            failures === 1 ? 0 : 250,
          ).unref();
        },
      });
      return s;
    };

    stream = connect();
    try {
      await stream.opened;
    } catch (error) {
      closed = true;
      stream.close();
      throw new TargetError(
        `cannot read ${this.#base}/events (${(error as Error).message}): is the local runtime running (make up)?`,
      );
    }
    return {
      close: async () => {
        closed = true;
        stream?.close();
        await queue;
      },
    };
  }

  async kill(replica: Replica, _options: KillOptions): Promise<KillResult> {
    try {
      await this.#request(`/replicas/${encodeURIComponent(replica.name)}/kill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ signal: 'SIGKILL' }),
      });
      return { outcome: 'sent', method: 'SIGKILL' };
    } catch (error) {
      if (/answered 404/.test((error as Error).message)) {
        return { outcome: 'refused', reason: `${replica.name} no longer exists` };
      }
      throw error;
    }
  }

  async annotateKill(): Promise<void> {
    // The runtime records the kill itself (a `killed` event).
  }

  async #admin(replica: Replica, method: string, body?: unknown): Promise<unknown> {
    if (!replica.url) throw new TargetError(`replica ${replica.name} has no port`);
    const response = await fetch(`${replica.url}/admin/faults`, {
      method,
      headers: { authorization: `Bearer ${this.#faultToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new TargetError(
        `fault admin API of ${replica.name} answered ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  async injectFault(replica: Replica, fault: FaultSpec): Promise<string> {
    const created = (await this.#admin(replica, 'POST', fault)) as { id?: string } | undefined;
    return created?.id ?? '';
  }

  async clearFaults(replica: Replica): Promise<void> {
    await this.#admin(replica, 'DELETE');
  }

  async publishMetrics(text: string): Promise<void> {
    await this.#request('/chaos/metrics', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain; version=0.0.4' },
      body: text,
    });
  }

  async close(): Promise<void> {}
}
