import { randomUUID } from 'node:crypto';
import type {
  ReplicaSignal,
  RolloutView,
  RuntimeEventType,
  WorkloadView,
} from '@self-healing-shop/contracts';
import type { Logger } from 'pino';
import { nextCrashCount, restartDelay } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';
import { resolveIntOrPercent } from '../manifests/deployment-spec.ts';
import type { DeploymentSpec } from '../manifests/deployment-spec.ts';
import type { EventLog, NewEvent } from '../control-plane/event-log.ts';
import { podName, templateHash } from './names.ts';
import { Replica } from './replica.ts';
import { replicaEvent, signalReplica } from './workload.ts';
import type { WorkloadController } from './workload.ts';
import type { ProcessLaunch, ReplicaHooks } from './replica.ts';

export interface ControllerDeps {
  readonly spec: DeploymentSpec;
  readonly events: EventLog;
  readonly logger: Logger;
  readonly backoff: BackoffPolicy;
  /** Finds a port and builds the process launch (env, command, log file) of a replica. */
  readonly prepare: (
    replica: Replica,
    spec: DeploymentSpec,
  ) => Promise<{ port: number; launch: ProcessLaunch }>;
  /** Replicas came, went or changed readiness: routing and scrape targets follow. */
  readonly changed: () => void;
}

/** A new template revision: variables to set, and optionally a new progress deadline. */
export interface RolloutChange {
  readonly env?: Readonly<Record<string, string>>;
  readonly progressDeadlineSeconds?: number;
}

/** `rollout undo` when the Deployment has no earlier revision. */
export class NoPreviousRevisionError extends Error {
  constructor(deployment: string) {
    super(`Deployment ${deployment} has no previous revision to roll back to`);
    this.name = 'NoPreviousRevisionError';
  }
}

interface Revision {
  readonly spec: DeploymentSpec;
  /** deployment.kubernetes.io/revision: a rollback gives the old template a new, higher number. */
  readonly revision: number;
}

interface Lineage {
  readonly restarts: number;
  readonly crashes: number;
}

/**
 * A Deployment with its ReplicaSets: keeps the desired number of replicas, replaces those that exit
 * (with CrashLoopBackOff for crashes), kills those whose liveness fails, and rolls out new template
 * revisions (restarts, rollouts) within maxSurge / maxUnavailable. A rollout whose new replicas make
 * no progress for progressDeadlineSeconds is rolled back to the previous revision (Kubernetes only
 * marks it ProgressDeadlineExceeded; the pipelines' rollout guard does the rollback there).
 *
 * `templateGeneration` names a template (its pod-template-hash, its "ReplicaSet"); a rollback goes
 * back to the old template, so that ReplicaSet's replicas count as current again, as after
 * `kubectl rollout undo`.
 */
export class DeploymentController implements WorkloadController {
  spec: DeploymentSpec;
  desired: number;
  generation = 1;
  observedGeneration = 1;
  templateGeneration = 1;
  revision = 1;
  replicas: Replica[] = [];
  readonly #history = new Map<number, Revision>();
  #lastTemplate = 1;
  #progressTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #deps: ControllerDeps;
  readonly #hooks: ReplicaHooks;
  readonly #backoffTimers = new Map<Replica, { timer: ReturnType<typeof setTimeout>; lineage: Lineage }>();
  #stopping = false;
  #reconciling = false;
  #again = false;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
    this.spec = deps.spec;
    this.desired = deps.spec.replicas;
    this.#history.set(1, { spec: deps.spec, revision: 1 });
    this.#hooks = {
      spawned: (replica) => {
        this.#event({
          type: 'started',
          replica,
          reason: `pid ${replica.pid} port ${replica.port} runs ${replica.program}`,
        });
        this.#deps.changed();
      },
      readyChanged: (replica, ready, byProbe) => {
        if (byProbe) this.#event({ type: ready ? 'ready' : 'unready', replica });
        // A new replica that turns ready is progress: the deadline counts again from now.
        if (ready && this.#progressTimer && replica.templateGeneration === this.templateGeneration)
          this.#armProgressDeadline();
        this.#deps.changed();
        this.#reconcile();
      },
      probeFailed: (replica, probe, failures) => {
        if (replica.phase === 'terminating') return;
        this.#event({ type: 'killed', replica, reason: `${probe} probe failed ${failures} times` });
        void replica.terminate();
      },
      exited: (replica, code, signal) => this.#exited(replica, code, signal),
    };
  }

  /** Replicas that take traffic. */
  get readyReplicas(): Replica[] {
    return this.replicas.filter((r) => r.ready && !r.removal);
  }

  start(): void {
    this.#reconcile();
  }

  /** Sets spec.replicas (the HPA's decision); `reason` goes into the `scaled` event. */
  scale(replicas: number, reason: string): void {
    if (this.#stopping || replicas === this.desired) return;
    this.#deps.events.append({
      type: 'scaled',
      service: this.spec.service,
      replica: null,
      uid: null,
      reason,
    });
    this.#deps.logger.info(
      { deployment: this.spec.name, from: this.desired, to: replicas, reason },
      'scaled',
    );
    this.desired = replicas;
    this.generation += 1;
    this.#reconcile();
  }

  /** `kubectl rollout restart`: a new template revision, rolled out within maxSurge / maxUnavailable. */
  restart(): void {
    if (this.#stopping) return;
    this.#switchTemplate(this.#lastTemplate + 1, this.spec);
    this.#deps.logger.info({ deployment: this.spec.name, generation: this.generation }, 'rolling restart');
    this.#reconcile();
  }

  /**
   * A new template revision with `change` applied, rolled out like a restart and watched: without
   * progress (a new replica turning ready) for progressDeadlineSeconds it is rolled back.
   */
  rollout(change: RolloutChange): RolloutView {
    const next: DeploymentSpec = {
      ...this.spec,
      envOverrides: { ...this.spec.envOverrides, ...change.env },
      progressDeadlineSeconds: change.progressDeadlineSeconds ?? this.spec.progressDeadlineSeconds,
    };
    this.#switchTemplate(this.#lastTemplate + 1, next);
    const set = Object.keys(change.env ?? {});
    this.#workloadEvent(
      'rollout-started',
      `revision ${this.revision} (${templateHash(this.spec.name, this.templateGeneration)})` +
        `${set.length > 0 ? `, set ${set.join(', ')}` : ''}; progress deadline ${next.progressDeadlineSeconds}s`,
    );
    this.#armProgressDeadline();
    this.#reconcile();
    return this.rolloutView();
  }

  /** `kubectl rollout undo`: back to the template of the highest earlier revision. */
  undo(cause = 'rollout undo'): RolloutView {
    let previous: [number, Revision] | undefined;
    for (const entry of this.#history) {
      if (entry[0] !== this.templateGeneration && (!previous || entry[1].revision > previous[1].revision))
        previous = entry;
    }
    if (!previous) throw new NoPreviousRevisionError(this.spec.name);
    this.#clearProgressDeadline();
    const from = this.revision;
    this.#switchTemplate(previous[0], previous[1].spec);
    this.#workloadEvent(
      'rolled-back',
      `${cause}: revision ${from} → template of revision ${previous[1].revision} (now revision ${this.revision})`,
    );
    this.#reconcile();
    return this.rolloutView();
  }

  rolloutView(): RolloutView {
    return {
      deployment: this.spec.name,
      revision: this.revision,
      generation: this.generation,
      progressDeadlineSeconds: this.spec.progressDeadlineSeconds,
    };
  }

  /**
   * Kills a replica (chaos, or by hand): SIGKILL at once, SIGTERM with its preStop and grace period;
   * SIGSTOP freezes it and SIGCONT thaws it (its probes decide what follows, as on a node).
   */
  kill(replica: Replica, signal: ReplicaSignal): void {
    if (replica.removal || replica.hasExited) return;
    signalReplica(replica, signal, (type, reason) => this.#event({ type, replica, reason }));
  }

  status(): WorkloadView {
    const live = this.replicas.filter((r) => !r.removal);
    const ready = live.filter((r) => r.ready).length;
    return {
      name: this.spec.name,
      kind: 'Deployment',
      labels: this.spec.labels,
      replicas: this.desired,
      readyReplicas: ready,
      updatedReplicas: live.filter((r) => r.templateGeneration === this.templateGeneration).length,
      availableReplicas: ready,
      generation: this.generation,
      observedGeneration: this.observedGeneration,
    };
  }

  /** Terminates every replica (preStop, SIGTERM, grace period) and replaces none. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#clearProgressDeadline();
    for (const { timer } of this.#backoffTimers.values()) clearTimeout(timer);
    this.#backoffTimers.clear();
    await Promise.all(
      this.replicas.map((replica) => {
        replica.removal = true;
        return replica.terminate();
      }),
    );
    this.replicas = [];
  }

  #event(event: Omit<NewEvent, 'service' | 'replica' | 'uid'> & { replica: Replica }): void {
    const { replica, ...rest } = event;
    replicaEvent(this.#deps.events, this.#deps.logger, replica, rest);
  }

  #workloadEvent(type: RuntimeEventType, reason: string): void {
    this.#deps.events.append({ type, service: this.spec.service, replica: null, uid: null, reason });
    this.#deps.logger.info({ event: type, deployment: this.spec.name, reason }, type);
  }

  /** A template becomes the desired one; every change of it is a new revision and generation. */
  #switchTemplate(templateGeneration: number, spec: DeploymentSpec): void {
    this.#lastTemplate = Math.max(this.#lastTemplate, templateGeneration);
    this.templateGeneration = templateGeneration;
    this.spec = spec;
    this.revision += 1;
    this.generation += 1;
    this.#history.set(templateGeneration, { spec, revision: this.revision });
  }

  #armProgressDeadline(): void {
    clearTimeout(this.#progressTimer);
    this.#progressTimer = setTimeout(
      () => this.#progressDeadlineExceeded(),
      this.spec.progressDeadlineSeconds * 1000,
    );
  }

  #clearProgressDeadline(): void {
    clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
  }

  #progressDeadlineExceeded(): void {
    this.#progressTimer = undefined;
    if (this.#stopping) return;
    const { updated, ready } = this.#counts();
    const hash = templateHash(this.spec.name, this.templateGeneration);
    // The Progressing condition's message in Kubernetes: ReplicaSet "<name>" has timed out progressing.
    this.#workloadEvent(
      'progress-deadline-exceeded',
      `ReplicaSet ${this.spec.name}-${hash} has timed out progressing: ${ready} of ${this.desired} updated replicas ready (${updated} created) after ${this.spec.progressDeadlineSeconds}s without progress`,
    );
    this.undo('progress deadline exceeded');
  }

  #counts(): { updated: number; ready: number } {
    const current = this.replicas.filter(
      (r) => !r.removal && r.templateGeneration === this.templateGeneration,
    );
    return { updated: current.length, ready: current.filter((r) => r.ready).length };
  }

  #create(lineage: Lineage, replaces?: Replica): Replica {
    const spec = this.spec;
    const replica = new Replica(
      {
        name: podName(spec.name, this.templateGeneration),
        uid: randomUUID(),
        spec,
        templateGeneration: this.templateGeneration,
        ...lineage,
      },
      this.#hooks,
    );
    if (replaces) this.#event({ type: 'replaced', replica: replaces, reason: `by ${replica.name}` });
    this.replicas.push(replica);
    this.#deps.prepare(replica, spec).then(
      ({ port, launch }) => replica.launch(port, { ...launch, env: { ...launch.env, ...spec.envOverrides } }),
      (error: unknown) => {
        this.#deps.logger.error({ err: error, replica: replica.name }, 'cannot start replica');
        replica.launchFailed();
      },
    );
    return replica;
  }

  #exited(replica: Replica, code: number | null, signal: NodeJS.Signals | null): void {
    this.#event({ type: 'exited', replica, reason: signal ? `signal ${signal}` : `exit code ${code}` });
    if (this.#stopping || replica.removal) {
      this.replicas = this.replicas.filter((r) => r !== replica);
      this.#deps.changed();
      this.#reconcile();
      return;
    }
    const crashed = !replica.deleted;
    const ran = (replica.exitedAt ?? Date.now()) - (replica.startedAt ?? replica.createdAt);
    const crashes = crashed ? nextCrashCount(replica.crashes, ran, this.#deps.backoff) : replica.crashes;
    const lineage = { restarts: replica.restarts + 1, crashes };
    const delay = crashed ? restartDelay(crashes, this.#deps.backoff) : 0;
    if (delay === 0) {
      this.#replace(replica, lineage);
    } else {
      replica.enterBackoff();
      this.#event({
        type: 'backoff',
        replica,
        reason: `back-off ${delay / 1000}s restarting failed container (${crashes} crashes in a row)`,
      });
      const timer = setTimeout(() => {
        this.#backoffTimers.delete(replica);
        this.#replace(replica, lineage);
      }, delay);
      this.#backoffTimers.set(replica, { timer, lineage });
    }
    this.#deps.changed();
  }

  #replace(old: Replica, lineage: Lineage): void {
    this.replicas = this.replicas.filter((r) => r !== old);
    if (this.#stopping) return;
    this.#create(lineage, old);
    this.#reconcile();
  }

  #remove(replica: Replica, reason: string): void {
    replica.removal = true;
    const backoff = this.#backoffTimers.get(replica);
    if (backoff || replica.hasExited) {
      if (backoff) clearTimeout(backoff.timer);
      this.#backoffTimers.delete(replica);
      this.replicas = this.replicas.filter((r) => r !== replica);
      // Gone at once, so its room (maxSurge) is free now: one more pass may create a replica.
      this.#reconcile();
      return;
    }
    this.#event({ type: 'killed', replica, reason });
    void replica.terminate();
  }

  /** Runs #reconcileOnce until nothing changes; a change made while reconciling (a hook) asks for one more pass. */
  #reconcile(): void {
    if (this.#reconciling) {
      this.#again = true;
      return;
    }
    this.#reconciling = true;
    try {
      for (let pass = 0; pass < 10; pass += 1) {
        this.#again = false;
        this.#reconcileOnce();
        if (!this.#again) break;
      }
    } finally {
      this.#reconciling = false;
    }
  }

  /** Compares what runs with what is desired and acts, like the Deployment and ReplicaSet controllers. */
  #reconcileOnce(): void {
    if (this.#stopping) return;
    const live = this.replicas.filter((r) => !r.removal);
    const current = live.filter((r) => r.templateGeneration === this.templateGeneration);
    const old = live.filter((r) => r.templateGeneration !== this.templateGeneration);
    // Unready and waiting replicas go first, then the newest (the ReplicaSet's scale-down order).
    const rank = (r: Replica) => (r.phase === 'backoff' ? 0 : r.ready ? 2 : 1);
    const victimOrder = (a: Replica, b: Replica) => rank(a) - rank(b) || b.createdAt - a.createdAt;
    if (old.length === 0) {
      if (current.filter((r) => r.ready).length >= this.desired) this.#clearProgressDeadline();
      for (let n = live.length; n < this.desired; n += 1) this.#create({ restarts: 0, crashes: 0 });
      const extra = live.length - this.desired;
      if (extra > 0)
        for (const victim of [...live].sort(victimOrder).slice(0, extra)) this.#remove(victim, 'scaled down');
    } else {
      const surge = resolveIntOrPercent(this.spec.maxSurge, this.desired, true);
      let unavailable = resolveIntOrPercent(this.spec.maxUnavailable, this.desired, false);
      if (surge === 0 && unavailable === 0) unavailable = 1;
      const room = Math.min(this.desired + surge - live.length, this.desired - current.length);
      for (let n = 0; n < room; n += 1) this.#create({ restarts: 0, crashes: 0 });
      const minAvailable = this.desired - unavailable;
      let ready = live.filter((r) => r.ready).length;
      for (const victim of [...old].sort(victimOrder)) {
        if (!victim.ready) this.#remove(victim, 'rolling update');
        else if (ready - 1 >= minAvailable) {
          this.#remove(victim, 'rolling update');
          ready -= 1;
        }
      }
    }
    this.observedGeneration = this.generation;
  }
}
