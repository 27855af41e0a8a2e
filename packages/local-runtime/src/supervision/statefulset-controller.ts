import { randomUUID } from 'node:crypto';
import type { ReplicaSignal, RuntimeEventType, WorkloadView } from '@self-healing-shop/contracts';
import type { Logger } from 'pino';
import type { EventLog } from '../control-plane/event-log.ts';
import type { DatabaseSpec } from '../manifests/database-spec.ts';
import { nextCrashCount, restartDelay } from './backoff.ts';
import { anyAlive } from './process-tree.ts';
import type { BackoffPolicy } from './backoff.ts';
import { Replica } from './replica.ts';
import type { ProbeCheck, ProcessLaunch, ReplicaHooks } from './replica.ts';
import { replicaEvent, signalReplica } from './workload.ts';
import type { WorkloadController } from './workload.ts';

export interface StatefulSetDeps {
  readonly spec: DatabaseSpec;
  /** The one port the server always listens on: clients keep their address across restarts. */
  readonly port: number;
  readonly events: EventLog;
  readonly logger: Logger;
  readonly backoff: BackoffPolicy;
  readonly check: ProbeCheck;
  /** Builds the launch of the next process; called once the previous process group is gone. */
  readonly prepare: () => Promise<ProcessLaunch>;
  readonly changed: () => void;
}

/** How long a restart waits for the old process group (PostgreSQL backends) to be gone. */
const GROUP_GONE_TIMEOUT_MS = 5_000;

/**
 * A StatefulSet of one: `postgres-0`, always the same name, port and data folder. A crash restarts
 * the container in place (same uid, restarts + 1, CrashLoopBackOff as the kubelet does); a kill
 * through the control API deletes the pod, which comes back at once with a new uid, like the
 * StatefulSet controller recreating it. PostgreSQL recovers its data from the WAL by itself.
 */
export class StatefulSetController implements WorkloadController {
  readonly spec: DatabaseSpec;
  readonly desired = 1;
  generation = 1;
  observedGeneration = 1;
  replicas: Replica[] = [];
  readonly #deps: StatefulSetDeps;
  readonly #hooks: ReplicaHooks;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined;
  #lastPid: number | null = null;
  /** The replica that had #lastPid: the processes its kill reached outside its group are waited for too. */
  #lastReplica: Replica | null = null;
  #stopping = false;

  constructor(deps: StatefulSetDeps) {
    this.#deps = deps;
    this.spec = deps.spec;
    this.#hooks = {
      spawned: (replica) => {
        this.#lastPid = replica.pid;
        this.#lastReplica = replica;
        this.#event(replica, 'started', `pid ${replica.pid} port ${replica.port}`);
        this.#deps.changed();
      },
      readyChanged: (replica, ready, byProbe) => {
        if (byProbe) this.#event(replica, ready ? 'ready' : 'unready');
        this.#deps.changed();
      },
      probeFailed: (replica, probe, failures) => {
        if (replica.phase === 'terminating') return;
        this.#event(replica, 'killed', `${probe} probe failed ${failures} times`);
        void replica.terminate();
      },
      exited: (replica, code, signal) => this.#exited(replica, code, signal),
    };
  }

  get readyReplicas(): Replica[] {
    return this.replicas.filter((r) => r.ready);
  }

  start(): void {
    this.#create({ uid: randomUUID(), restarts: 0, crashes: 0 });
  }

  kill(replica: Replica, signal: ReplicaSignal): void {
    if (replica.hasExited || this.#stopping) return;
    signalReplica(replica, signal, (type, reason) => this.#event(replica, type, reason));
  }

  /** A rolling update of one pod: it is deleted (graceful) and created again. */
  restart(): void {
    const replica = this.replicas[0];
    this.generation += 1;
    this.observedGeneration = this.generation;
    if (!replica || replica.hasExited || this.#stopping) return;
    this.#event(replica, 'killed', 'rolling update');
    replica.deleted = true;
    void replica.terminate();
  }

  status(): WorkloadView {
    const ready = this.readyReplicas.length;
    return {
      name: this.spec.name,
      kind: 'StatefulSet',
      labels: this.spec.labels,
      replicas: this.desired,
      readyReplicas: ready,
      updatedReplicas: this.replicas.length,
      availableReplicas: ready,
      generation: this.generation,
      observedGeneration: this.observedGeneration,
    };
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#backoffTimer);
    await Promise.all(
      this.replicas.map((replica) => {
        replica.removal = true;
        return replica.terminate();
      }),
    );
    this.replicas = [];
  }

  #event(replica: Replica, type: RuntimeEventType, reason?: string): void {
    replicaEvent(
      this.#deps.events,
      this.#deps.logger,
      replica,
      reason === undefined ? { type } : { type, reason },
    );
  }

  #create(lineage: { uid: string; restarts: number; crashes: number }): void {
    const replica = new Replica(
      {
        name: `${this.spec.name}-0`,
        uid: lineage.uid,
        spec: this.spec,
        templateGeneration: this.generation,
        restarts: lineage.restarts,
        crashes: lineage.crashes,
        check: this.#deps.check,
      },
      this.#hooks,
    );
    this.replicas = [replica];
    this.#launch(replica).catch((error: unknown) => {
      this.#deps.logger.error({ err: error, replica: replica.name }, 'cannot start replica');
      replica.launchFailed();
    });
  }

  async #launch(replica: Replica): Promise<void> {
    await this.#groupGone();
    const launch = await this.#deps.prepare();
    if (this.#stopping) replica.launchFailed();
    else replica.launch(this.#deps.port, launch);
  }

  /**
   * The old server's backends share its port and shared memory: a new server starts only after them
   * (its process group, and the backends in sessions of their own that its kill reached).
   */
  async #groupGone(): Promise<void> {
    const pid = this.#lastPid;
    if (pid === null) return;
    const others = this.#lastReplica?.killedDescendants ?? [];
    const deadline = Date.now() + GROUP_GONE_TIMEOUT_MS;
    while (anyAlive([pid], others) && Date.now() <= deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #exited(replica: Replica, code: number | null, signal: NodeJS.Signals | null): void {
    this.#event(replica, 'exited', signal ? `signal ${signal}` : `exit code ${code}`);
    this.#deps.changed();
    if (this.#stopping || replica.removal) {
      this.replicas = this.replicas.filter((r) => r !== replica);
      return;
    }
    if (replica.deleted) {
      // A deleted pod: the controller creates it again at once, same name, new uid.
      const uid = randomUUID();
      this.#event(replica, 'replaced', `by ${replica.name}`);
      this.#create({ uid, restarts: replica.restarts + 1, crashes: replica.crashes });
      return;
    }
    const ran = (replica.exitedAt ?? Date.now()) - (replica.startedAt ?? replica.createdAt);
    const crashes = nextCrashCount(replica.crashes, ran, this.#deps.backoff);
    const lineage = { uid: replica.uid, restarts: replica.restarts + 1, crashes };
    const delay = restartDelay(crashes, this.#deps.backoff);
    if (delay === 0) {
      this.#create(lineage);
      return;
    }
    replica.enterBackoff();
    this.#event(
      replica,
      'backoff',
      `back-off ${delay / 1000}s restarting failed container (${crashes} crashes in a row)`,
    );
    this.#backoffTimer = setTimeout(() => this.#create(lineage), delay);
  }
}
