import { atFullStrength, type Replica, type TargetEvent, type WorkloadStatus } from './target.ts';

export interface KillRecord {
  replica: string;
  uid: string;
  /** When the kill request was sent (before the answer: the pod may be gone before it arrives). */
  sentAt: number;
  method?: string;
  terminatingAt?: number;
  goneAt?: number;
}

export interface ReplacementRecord {
  replica: string;
  uid: string;
  createdAt: number;
  readyAt?: number;
}

export interface Timeline {
  workload: string;
  kills: KillRecord[];
  replacements: ReplacementRecord[];
  /** When the workload had no ready replica left (outage), if it happened. */
  noReadyAt?: number;
  /** When the first replacement became ready. */
  firstReadyAt?: number;
  /** When the Deployment was back at full strength with new pods; the end of recovery. */
  fullStrengthAt?: number;
  /** fullStrengthAt - first kill sent, in ms. */
  mttrMs?: number;
}

interface TrackedReplica {
  ready: boolean;
  terminating: boolean;
}

/**
 * Follows one disruption of one workload through the target's event stream. Recovery counts only
 * when every killed replica is gone, replacements with new UIDs are ready, the ready replicas seen
 * in the events match spec.replicas, and a Deployment status read after that agrees
 * (ready == updated == available == spec.replicas, observedGeneration caught up). That guards
 * against an "instant recovery" from a status that had not yet noticed the kill.
 */
export class RecoveryTracker {
  readonly timeline: Timeline;
  readonly #initialUids: Set<string>;
  readonly #replicas = new Map<string, TrackedReplica>();
  #status: WorkloadStatus | undefined;
  /** When the latest status was observed. */
  #statusAt = 0;
  /** When the replica-level picture last changed. */
  #replicasChangedAt = 0;
  readonly #refresh: (workload: string) => void;
  #resolve: (() => void) | undefined;
  readonly #recovered: Promise<void>;

  constructor(options: {
    workload: string;
    replicas: readonly Replica[];
    status: WorkloadStatus | undefined;
    /** Asks for a fresh Deployment status (fed back as a `workload-status` event). */
    refreshStatus: (workload: string) => void;
  }) {
    this.timeline = { workload: options.workload, kills: [], replacements: [] };
    this.#initialUids = new Set(options.replicas.map((r) => r.uid));
    for (const r of options.replicas) {
      if (r.workload === options.workload) {
        this.#replicas.set(r.uid, { ready: r.ready, terminating: r.phase === 'terminating' });
      }
    }
    this.#status = options.status;
    this.#refresh = options.refreshStatus;
    this.#recovered = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** Registers a kill just before it is sent. */
  expectKill(replica: Replica, sentAt: number): KillRecord {
    const record: KillRecord = { replica: replica.name, uid: replica.uid, sentAt };
    this.timeline.kills.push(record);
    return record;
  }

  /** The kill was refused: it no longer belongs to the disruption. */
  cancelKill(uid: string): void {
    this.timeline.kills = this.timeline.kills.filter((k) => k.uid !== uid);
  }

  get recovered(): boolean {
    return this.timeline.fullStrengthAt !== undefined;
  }

  /** Resolves when recovered; otherwise at the deadline or on abort. */
  async wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.recovered) return true;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    await Promise.race([
      this.#recovered,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        onAbort = resolve;
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    return this.recovered;
  }

  onEvent(event: TargetEvent): void {
    if (this.recovered || event.workload !== this.timeline.workload) return;
    const firstKill = this.timeline.kills[0]?.sentAt;
    switch (event.type) {
      case 'workload-status':
        if (event.status) {
          this.#status = event.status;
          this.#statusAt = event.at;
        }
        break;
      case 'replica-added':
        if (event.uid && !this.#replicas.has(event.uid) && !this.#initialUids.has(event.uid)) {
          this.#replicas.set(event.uid, { ready: false, terminating: false });
          if (firstKill !== undefined && !this.timeline.replacements.some((r) => r.uid === event.uid)) {
            this.timeline.replacements.push({
              replica: event.replica ?? '',
              uid: event.uid,
              createdAt: event.at,
            });
          }
          this.#replicasChangedAt = event.at;
        }
        break;
      case 'replica-ready':
      case 'replica-unready': {
        if (!event.uid) break;
        const ready = event.type === 'replica-ready';
        const tracked = this.#replicas.get(event.uid);
        if (tracked) tracked.ready = ready;
        else if (!this.#initialUids.has(event.uid))
          this.#replicas.set(event.uid, { ready, terminating: false });
        const replacement = this.timeline.replacements.find((r) => r.uid === event.uid);
        if (ready && replacement && replacement.readyAt === undefined) {
          replacement.readyAt = event.at;
          this.timeline.firstReadyAt ??= event.at;
        }
        this.#replicasChangedAt = event.at;
        break;
      }
      case 'replica-terminating': {
        const tracked = event.uid ? this.#replicas.get(event.uid) : undefined;
        if (tracked) tracked.terminating = true;
        const kill = this.timeline.kills.find((k) => k.uid === event.uid);
        if (kill) kill.terminatingAt ??= event.at;
        this.#replicasChangedAt = event.at;
        break;
      }
      case 'replica-gone': {
        if (event.uid) this.#replicas.delete(event.uid);
        const kill = this.timeline.kills.find((k) => k.uid === event.uid);
        if (kill) {
          kill.terminatingAt ??= event.at;
          kill.goneAt ??= event.at;
        }
        this.#replicasChangedAt = event.at;
        break;
      }
      case 'scaled':
        if (event.status) this.#status = event.status;
        break;
    }
    if (firstKill !== undefined && this.timeline.noReadyAt === undefined && this.#readyCount() === 0) {
      this.timeline.noReadyAt = event.at;
    }
    this.#evaluate(event.at);
  }

  #readyCount(): number {
    let count = 0;
    for (const r of this.#replicas.values()) if (r.ready && !r.terminating) count++;
    return count;
  }

  #evaluate(at: number): void {
    const { kills, replacements } = this.timeline;
    if (kills.length === 0 || this.recovered) return;
    if (!kills.every((k) => k.goneAt !== undefined)) return;
    const status = this.#status;
    const desired = status?.desired ?? 0;
    const needed = Math.max(1, Math.min(kills.length, desired));
    if (replacements.filter((r) => r.readyAt !== undefined).length < needed) return;
    if (this.#readyCount() !== desired) return;
    // The status must be observed after the replica picture it confirms; otherwise ask for a fresh one.
    if (!status || this.#statusAt < this.#replicasChangedAt) {
      this.#refresh(this.timeline.workload);
      return;
    }
    // A fresh status that still lags: its next change arrives as an event.
    if (!atFullStrength(status)) return;
    this.timeline.fullStrengthAt = Math.max(at, this.#statusAt);
    this.timeline.mttrMs = this.timeline.fullStrengthAt - kills[0].sentAt;
    this.#resolve?.();
  }
}
