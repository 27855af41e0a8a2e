/** What a chaos experiment needs from a platform: Kubernetes or the local runtime implement it. */
import { PROTECTED_LABEL, type WorkloadKind } from '@self-healing-shop/contracts';
import type { FaultSpec } from '@self-healing-shop/fault-injection';
import type { AlertSource } from './alerts/alert-source.ts';

export { PROTECTED_LABEL } from '@self-healing-shop/contracts';
export type { FaultSpec } from '@self-healing-shop/fault-injection';

export interface Replica {
  name: string;
  workload: string;
  uid: string;
  ready: boolean;
  /** Kubernetes pod phase or local runtime phase; `terminating` once deletion started. */
  phase: string;
  protected: boolean;
  /** Base URL of the replica's HTTP port when the tool can reach it directly (local runtime). */
  url?: string;
}

export interface WorkloadStatus {
  name: string;
  /** `StatefulSet` for the database (`postgres`), else `Deployment`. */
  kind: WorkloadKind;
  /** spec.replicas */
  desired: number;
  ready: number;
  updated: number;
  available: number;
  generation: number;
  observedGeneration: number;
  protected: boolean;
}

export type TargetEventType =
  | 'replica-added'
  | 'replica-ready'
  | 'replica-unready'
  | 'replica-terminating'
  | 'replica-gone'
  | 'workload-status'
  | 'scaled';

/** One observation from the platform's event stream (Kubernetes watch, local runtime SSE). */
export interface TargetEvent {
  /** Milliseconds since the epoch when it happened (or was observed). */
  at: number;
  type: TargetEventType;
  workload: string;
  replica?: string;
  uid?: string;
  status?: WorkloadStatus;
  /** What the platform said, e.g. the local runtime's event type or the watch phase. */
  source?: string;
}

export interface KillOptions {
  /** Use the Eviction API so PodDisruptionBudgets are respected. */
  evict: boolean;
  experiment: string;
  reason: string;
}

/** How long `Target.readiness` waits for one replica's answer (a frozen one never answers). */
export const READINESS_TIMEOUT_MS = 2_000;

/** One replica's `GET /ready` body (ARCHITECTURE.md, HTTP contracts). */
export interface Readiness {
  status: 'healthy' | 'degraded' | 'unhealthy';
  checks: Array<{ name: string; status: string; message?: string }>;
}

export type KillResult = { outcome: 'sent'; method: string } | { outcome: 'refused'; reason: string };

export interface EventSubscription {
  close(): Promise<void>;
}

export interface Target {
  readonly kind: 'local' | 'kubernetes';
  /** Human-readable scope, e.g. `kubernetes context kind-shop, namespace shop, selector ...`. */
  readonly description: string;
  listReplicas(): Promise<Replica[]>;
  listWorkloads(): Promise<WorkloadStatus[]>;
  /**
   * Streams events from now on. The promise resolves once the stream is established from a
   * consistent point (resourceVersion / sequence number), so nothing after it is missed.
   */
  subscribe(onEvent: (event: TargetEvent) => void): Promise<EventSubscription>;
  kill(replica: Replica, options: KillOptions): Promise<KillResult>;
  /** Records the kill on the platform (a Kubernetes Event on the pod); best effort. */
  annotateKill(replica: Replica, message: string): Promise<void>;
  /**
   * Freezes one replica for `durationMs`, then lets it run again: a gray failure (the process is
   * alive, its connections accept, nothing answers). Local runtime: SIGSTOP, SIGCONT after the
   * duration. Kubernetes: PID 1 of a container cannot be stopped from inside its namespace, so a
   * `freeze` fault blocks the replica's event loop for the duration through its admin API.
   * Resolves once the freeze has started.
   */
  freeze(replica: Replica, durationMs: number): Promise<void>;
  /**
   * GET an admin path (e.g. `/admin/audit/orders?limit=1000`) of a service, with the admin token in
   * `x-admin-token`; any ready replica answers (local: the service's front; Kubernetes: the
   * Service proxy). Rejects with a TargetError naming the service, path and status on a non-2xx.
   */
  adminGet<T>(service: string, path: string): Promise<T>;
  /**
   * `GET /ready` of one replica (local: its port; Kubernetes: the API server's pod proxy). Rejects with a
   * TargetError when it cannot be reached or answers anything but 200 (503: not ready).
   */
  readiness(replica: Replica): Promise<Readiness>;
  /** Fault-injection admin API of one replica. Returns the fault id. */
  injectFault(replica: Replica, fault: FaultSpec): Promise<string>;
  clearFaults(replica: Replica): Promise<void>;
  /**
   * The platform's Alertmanager (local: the runtime's `alertmanagerUrl`; Kubernetes: the chart's, through
   * the API server's Service proxy). Rejects with the reason when there is none.
   */
  alertSource?(): Promise<AlertSource>;
  /**
   * Where a person opens a trace (`traceViewUrl`'s base): the local runtime's console as it runs, which
   * moves off port 3000 when that port is taken. Undefined when unknown (the default port then).
   */
  traceViewBase?(): Promise<string | undefined>;
  /** Publishes the chaos metrics text where the platform re-exposes it (local runtime). */
  publishMetrics(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A Deployment counts as at full strength only when every counter agrees with spec.replicas. */
export function atFullStrength(status: WorkloadStatus): boolean {
  return (
    status.ready === status.desired &&
    status.updated === status.desired &&
    status.available === status.desired &&
    status.observedGeneration >= status.generation
  );
}

/** `protected` of a Replica or WorkloadStatus: its labels set PROTECTED_LABEL to `"true"` (both targets). */
export function isProtected(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels?.[PROTECTED_LABEL] === 'true';
}

export class TargetError extends Error {
  override name = 'TargetError';
}
