import { ControlClient } from '../control-plane/control-client.ts';
import { age, table } from './format.ts';
import { controlUrl } from './paths.ts';

/** `status`: workloads ready/desired, then every replica (postgres-0 too) with phase, readiness, restarts and age. */
export async function status(json: boolean, port?: number): Promise<number> {
  const client = new ControlClient(controlUrl(port));
  const [workloads, replicas] = await Promise.all([client.workloads(), client.replicas()]);
  if (json) {
    console.log(JSON.stringify({ workloads, replicas }, null, 2));
    return 0;
  }
  console.log(
    table(
      ['WORKLOAD', 'KIND', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'GENERATION'],
      workloads.map((d) => [
        d.name,
        d.kind,
        `${d.readyReplicas}/${d.replicas}`,
        String(d.updatedReplicas),
        String(d.availableReplicas),
        `${d.observedGeneration}/${d.generation}`,
      ]),
    ),
  );
  console.log('');
  console.log(
    table(
      ['REPLICA', 'PHASE', 'READY', 'RESTARTS', 'AGE', 'PID', 'PORT'],
      replicas.map((r) => [
        r.name,
        r.phase,
        r.ready ? 'yes' : 'no',
        String(r.restarts),
        age(r.startedAt),
        r.pid === null ? '-' : String(r.pid),
        r.port === null ? '-' : String(r.port),
      ]),
    ),
  );
  return 0;
}
