/**
 * The local runtime's control API (`127.0.0.1:7070`), as the runtime serves it and the CLI, the chaos
 * engine and the console read it. The runtime owns the behaviour; these are the shapes on the wire.
 */

/** `terminating`: a stop was sent and the process has not exited yet; `backoff`: waiting to restart. */
export type ReplicaPhase = 'starting' | 'running' | 'terminating' | 'backoff';

export type WorkloadKind = 'Deployment' | 'StatefulSet';

/** One item of `GET /replicas`: a process of a Deployment, or the database (`postgres-0`). */
export interface ReplicaView {
  readonly name: string;
  /** The workload it belongs to (`order`, …, `postgres`). */
  readonly service: string;
  readonly kind: WorkloadKind;
  readonly uid: string;
  readonly pid: number | null;
  readonly port: number | null;
  readonly phase: ReplicaPhase;
  readonly ready: boolean;
  readonly restarts: number;
  /** ISO 8601. */
  readonly startedAt: string | null;
  readonly readyAt: string | null;
  /** The pod template's labels (the chaos engine reads the protected label here). */
  readonly labels: Readonly<Record<string, string>>;
}

/** One item of `GET /workloads`, with the counters of a Deployment's or StatefulSet's status. */
export interface WorkloadView {
  readonly name: string;
  readonly kind: WorkloadKind;
  /** spec.replicas */
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly updatedReplicas: number;
  readonly availableReplicas: number;
  readonly generation: number;
  readonly observedGeneration: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** Signals `POST /replicas/:name/kill` sends (`SIGSTOP` freezes a replica, `SIGCONT` thaws it). */
export const REPLICA_SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGSTOP', 'SIGCONT'] as const;
export type ReplicaSignal = (typeof REPLICA_SIGNALS)[number];

/**
 * Workload events (replica null): `scaled`; a rollout's `rollout-started` (reason: the revision and the
 * change), `progress-deadline-exceeded` (its new replicas made no progress within the Deployment's
 * progressDeadlineSeconds) and `rolled-back` (the template went back to an earlier revision).
 */
export type RuntimeEventType =
  | 'started'
  | 'ready'
  | 'unready'
  | 'killed'
  | 'signalled'
  | 'exited'
  | 'replaced'
  | 'scaled'
  | 'backoff'
  | 'rollout-started'
  | 'progress-deadline-exceeded'
  | 'rolled-back';

/**
 * One event of `GET /events` (Server-Sent Events, `id` = `seq`; `Last-Event-ID` or `?after=` replays).
 * A kill reads `killed` → `exited` → `replaced` (the old replica, reason `by <new>`) → `started` →
 * `ready`. `signalled` is a SIGSTOP or SIGCONT sent through the API (reason: the signal).
 */
export interface RuntimeEvent {
  readonly seq: number;
  /** ISO 8601 with milliseconds. */
  readonly at: string;
  readonly type: RuntimeEventType;
  /** The workload (`postgres` for the database). */
  readonly service: string;
  /** null for workload events (`scaled`). */
  readonly replica: string | null;
  readonly uid: string | null;
  readonly reason?: string;
}

/**
 * `PATCH /deployments/:name`: a new revision of the pod template, rolled out within maxSurge /
 * maxUnavailable. `env` sets variables (they win over what the runtime injects, as an edit of the
 * template would); `progressDeadlineSeconds` replaces the Deployment's. Answers 202 with a RolloutView.
 */
export interface RolloutRequest {
  readonly env?: Readonly<Record<string, string>>;
  readonly progressDeadlineSeconds?: number;
}

/** The answer to a rollout or `POST /deployments/:name/rollback` (rollout undo). */
export interface RolloutView {
  readonly deployment: string;
  /** The template revision now desired (`deployment.kubernetes.io/revision`). */
  readonly revision: number;
  readonly generation: number;
  readonly progressDeadlineSeconds: number;
}

/** `GET /status`: what the runtime is doing and where (`up` waits on it). */
export interface RuntimeInfo {
  readonly pid: number;
  readonly state: 'starting' | 'running' | 'stopping';
  /** Front URL per service. */
  readonly fronts: Readonly<Record<string, string>>;
  readonly controlUrl: string;
  readonly prometheusUrl: string | null;
  readonly databaseUrl: string | null;
  /** The web console (`127.0.0.1:3000`), null when the runtime runs without it. */
  readonly consoleUrl: string | null;
  /** Alertmanager (`127.0.0.1:9093`), null when it is not installed or Prometheus does not run. */
  readonly alertmanagerUrl: string | null;
}

/** Where the runtime's parts answer (besides the fronts): part of `RuntimeInfo` and of the runtime's handle. */
export type RuntimeUrls = Pick<
  RuntimeInfo,
  'controlUrl' | 'prometheusUrl' | 'databaseUrl' | 'consoleUrl' | 'alertmanagerUrl'
>;
