import {
  ADMIN_TOKEN_HEADER,
  type ReplicaSignal,
  type ReplicaView,
  type RuntimeEvent,
  type RuntimeEventType,
  type RuntimeInfo,
  type WorkloadView,
} from '@self-healing-shop/contracts';
import {
  TargetError,
  isProtected,
  type EventSubscription,
  type FaultSpec,
  type KillOptions,
  type KillResult,
  READINESS_TIMEOUT_MS,
  type Readiness,
  type Replica,
  type Target,
  type TargetEvent,
  type TargetEventType,
  type WorkloadStatus,
} from '../target.ts';
import { openSse, type SseStream } from './sse.ts';
import { httpAlertSource, type AlertSource } from '../alerts/alert-source.ts';

export interface LocalTargetOptions {
  /** Control API of the local runtime, `http://127.0.0.1:7070`. */
  controlUrl: string;
  /** The services' admin token (`x-admin-token`): faults and the audit API. */
  adminToken: string;
  now?: () => number;
}

const EVENT_TYPES: Record<RuntimeEventType, TargetEventType | undefined> = {
  started: 'replica-added',
  // `replaced` names the replica that was replaced (its successor appears as `started`).
  replaced: undefined,
  ready: 'replica-ready',
  unready: 'replica-unready',
  killed: 'replica-terminating',
  exited: 'replica-gone',
  scaled: 'scaled',
  backoff: undefined,
  // SIGSTOP / SIGCONT sent through the API; what they do shows as `unready` / `ready`.
  signalled: undefined,
  // A rollout's workload events: its replicas show as replica-added / replica-terminating.
  'rollout-started': undefined,
  'progress-deadline-exceeded': undefined,
  'rolled-back': undefined,
};

function toStatus(w: WorkloadView): WorkloadStatus {
  return {
    name: w.name,
    kind: w.kind,
    desired: w.replicas,
    ready: w.readyReplicas,
    updated: w.updatedReplicas,
    available: w.availableReplicas,
    generation: w.generation,
    observedGeneration: w.observedGeneration,
    protected: isProtected(w.labels),
  };
}

function toReplica(r: ReplicaView): Replica {
  return {
    name: r.name,
    workload: r.service,
    uid: r.uid,
    ready: r.ready,
    phase: r.phase,
    protected: isProtected(r.labels),
    ...(r.port === null ? {} : { url: `http://127.0.0.1:${r.port}` }),
  };
}

/** The local runtime's control API (`packages/local-runtime`): replicas are processes. */
export class LocalTarget implements Target {
  readonly kind = 'local' as const;
  readonly description: string;
  readonly #base: string;
  readonly #adminToken: string;
  readonly #now: () => number;
  /** SIGCONTs still due, by replica name: sent early on close() so no replica stays frozen. */
  readonly #thaws = new Map<string, { timer: NodeJS.Timeout; thaw: () => Promise<void> }>();
  #fronts: Readonly<Record<string, string>> | undefined;

  constructor(options: LocalTargetOptions) {
    this.#base = options.controlUrl.replace(/\/$/, '');
    this.#adminToken = options.adminToken;
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

  /** The runtime's Alertmanager (`GET /status`, `alertmanagerUrl`); none when it is not installed. */
  async alertSource(): Promise<AlertSource> {
    const info = await this.#request<RuntimeInfo>('/status');
    if (!info.alertmanagerUrl) {
      throw new TargetError(
        `the local runtime at ${this.#base} runs without Alertmanager (not installed, or Prometheus does not run): ` +
          '`apt-get install -y --no-install-recommends prometheus-alertmanager`, then `make down && make up`',
      );
    }
    return httpAlertSource(info.alertmanagerUrl);
  }

  async traceViewBase(): Promise<string | undefined> {
    return (await this.#request<RuntimeInfo>('/status')).consoleUrl ?? undefined;
  }

  async listReplicas(): Promise<Replica[]> {
    const { items } = await this.#request<{ items: ReplicaView[] }>('/replicas');
    return items.map(toReplica).sort((a, b) => a.name.localeCompare(b.name));
  }

  async listWorkloads(): Promise<WorkloadStatus[]> {
    const { items } = await this.#request<{ items: WorkloadView[] }>('/workloads');
    return items.map(toStatus);
  }

  /** One runtime event as target events, followed by its workload's status read right after it. */
  async #forward(event: RuntimeEvent, onEvent: (event: TargetEvent) => void): Promise<void> {
    const type = EVENT_TYPES[event.type];
    const at = Date.parse(event.at);
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

    const handle = (event: RuntimeEvent): Promise<void> => this.#forward(event, onEvent);

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
          if (Date.parse(event.at) < since) return;
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

  async #signal(replica: Replica, signal: ReplicaSignal): Promise<void> {
    await this.#request(`/replicas/${encodeURIComponent(replica.name)}/kill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ signal }),
    });
  }

  async kill(replica: Replica, _options: KillOptions): Promise<KillResult> {
    try {
      await this.#signal(replica, 'SIGKILL');
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

  /** SIGSTOP now, SIGCONT after `durationMs` (or at close()); the runtime records both (`signalled`). */
  async freeze(replica: Replica, durationMs: number): Promise<void> {
    if (this.#thaws.has(replica.name)) throw new TargetError(`${replica.name} is frozen already`);
    await this.#signal(replica, 'SIGSTOP');
    const thaw = async (): Promise<void> => {
      const pending = this.#thaws.get(replica.name);
      if (!pending) return;
      clearTimeout(pending.timer);
      this.#thaws.delete(replica.name);
      // A replica the runtime replaced meanwhile (liveness) is gone: nothing to thaw.
      await this.#signal(replica, 'SIGCONT').catch((error: unknown) => {
        if (!/answered 404/.test((error as Error).message)) throw error;
      });
    };
    const timer = setTimeout(() => {
      thaw().catch((error: unknown) =>
        console.error(`could not thaw ${replica.name}: ${(error as Error).message}`),
      );
    }, durationMs);
    this.#thaws.set(replica.name, { timer, thaw });
  }

  async #front(service: string): Promise<string> {
    this.#fronts ??= (await this.#request<RuntimeInfo>('/status')).fronts;
    const front = this.#fronts[service];
    if (!front) {
      throw new TargetError(
        `the local runtime has no front for ${service} (fronts: ${Object.keys(this.#fronts).join(', ')})`,
      );
    }
    return front.replace(/\/$/, '');
  }

  async adminGet<T>(service: string, path: string): Promise<T> {
    const url = `${await this.#front(service)}${path}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { [ADMIN_TOKEN_HEADER]: this.#adminToken } });
    } catch (error) {
      throw new TargetError(`GET ${url} (${service}) failed: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new TargetError(`GET ${path} of ${service} answered ${response.status}: ${text.slice(0, 200)}`);
    }
    return JSON.parse(text) as T;
  }

  async readiness(replica: Replica): Promise<Readiness> {
    if (!replica.url) throw new TargetError(`replica ${replica.name} has no port`);
    const url = `${replica.url}/ready`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(READINESS_TIMEOUT_MS) });
    } catch (error) {
      throw new TargetError(`GET ${url} (${replica.name}) failed: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new TargetError(
        `GET /ready of ${replica.name} answered ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    try {
      return JSON.parse(text) as Readiness;
    } catch {
      throw new TargetError(
        `GET /ready of ${replica.name} answered without a JSON body: ${text.slice(0, 200)}`,
      );
    }
  }

  async #admin(replica: Replica, method: string, body?: unknown): Promise<unknown> {
    if (!replica.url) throw new TargetError(`replica ${replica.name} has no port`);
    const response = await fetch(`${replica.url}/admin/faults`, {
      method,
      headers: { [ADMIN_TOKEN_HEADER]: this.#adminToken, 'content-type': 'application/json' },
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

  /** Thaws every replica still frozen. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#thaws.values()].map((t) => t.thaw()));
  }
}
