import type { ReplicaSignal, RuntimeEventType, WorkloadView } from '@self-healing-shop/contracts';
import type { Logger } from 'pino';
import type { EventLog, NewEvent } from '../control-plane/event-log.ts';
import type { PodSpec } from '../manifests/deployment-spec.ts';
import type { Replica } from './replica.ts';

/** What the runtime, the control API and the metrics need of a Deployment or StatefulSet controller. */
export interface WorkloadController {
  readonly spec: PodSpec;
  /** spec.replicas */
  readonly desired: number;
  readonly replicas: readonly Replica[];
  readonly readyReplicas: readonly Replica[];
  start(): void;
  /** SIGKILL / SIGTERM delete the replica (it is replaced); SIGSTOP / SIGCONT freeze and thaw it. */
  kill(replica: Replica, signal: ReplicaSignal): void;
  /** `kubectl rollout restart`. */
  restart(): void;
  status(): WorkloadView;
  stop(): Promise<void>;
}

/** Appends a replica's event to the log and logs it, the same way for every kind of workload. */
export function replicaEvent(
  events: EventLog,
  logger: Logger,
  replica: Replica,
  event: Omit<NewEvent, 'service' | 'replica' | 'uid'>,
): void {
  events.append({ ...event, service: replica.spec.service, replica: replica.name, uid: replica.uid });
  logger.info({ event: event.type, replica: replica.name, reason: event.reason }, event.type);
}

/**
 * A signal from the control API, the same for every kind of workload: SIGSTOP / SIGCONT freeze and
 * thaw the replica (its probes decide what follows, as on a node); SIGKILL and SIGTERM delete it, at
 * once or with its preStop and grace period. `event` records what was done.
 */
export function signalReplica(
  replica: Replica,
  signal: ReplicaSignal,
  event: (type: RuntimeEventType, reason: string) => void,
): void {
  if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
    event('signalled', signal);
    replica.signal(signal);
    return;
  }
  event('killed', `${signal} from the control API`);
  replica.deleted = true;
  if (signal === 'SIGTERM') {
    void replica.terminate();
    return;
  }
  replica.stopServing();
  replica.signal('SIGKILL');
}
