import { ControlClient } from '../control-plane/control-client.ts';
import { ALERTMANAGER_INSTALL } from '../monitoring/alertmanager.ts';
import { alertmanagerAlerts } from '../monitoring/alerts.ts';
import type { AlertmanagerAlert } from '../monitoring/alerts.ts';
import { table } from '@self-healing-shop/loadgen';
import { age } from './format.ts';
import { controlUrl } from './paths.ts';

/** The alerts in Alertmanager, or why there are none to show. */
async function alerts(alertmanagerUrl: string | null): Promise<AlertmanagerAlert[] | string> {
  if (alertmanagerUrl === null)
    return `no Alertmanager runs (it needs Prometheus and ${ALERTMANAGER_INSTALL}), so alerts are not routed`;
  return alertmanagerAlerts(alertmanagerUrl).catch(
    (error: unknown) => `Alertmanager at ${alertmanagerUrl} did not answer: ${(error as Error).message}`,
  );
}

/**
 * `status`: workloads ready/desired, then every replica (postgres-0 too) with phase, readiness, restarts
 * and age, then the alerts firing in Alertmanager.
 */
export async function status(json: boolean, port?: number): Promise<number> {
  const client = new ControlClient(controlUrl(port));
  const [workloads, replicas, info] = await Promise.all([
    client.workloads(),
    client.replicas(),
    client.status(),
  ]);
  const firing = await alerts(info.alertmanagerUrl);
  if (json) {
    console.log(JSON.stringify({ workloads, replicas, alerts: firing }, null, 2));
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
  console.log('');
  if (typeof firing === 'string') console.log(`alerts: ${firing}`);
  else if (firing.length === 0) console.log(`alerts: none firing (${info.alertmanagerUrl})`);
  else
    console.log(
      table(
        ['ALERT', 'SEVERITY', 'WHERE', 'STATE', 'SINCE', 'SUMMARY'],
        firing.map((a) => [
          a.labels['alertname'] ?? '?',
          a.labels['severity'] ?? '-',
          a.labels['service'] ?? a.labels['deployment'] ?? a.labels['pod'] ?? '-',
          a.status.state === 'suppressed' ? 'silenced' : a.status.state,
          age(a.startsAt),
          a.annotations['summary'] ?? '',
        ]),
      ),
    );
  return 0;
}
