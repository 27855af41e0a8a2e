import type { ReplicaSignal, WorkloadView } from '@self-healing-shop/contracts';
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
