import { NAMESPACE } from '@self-healing-shop/contracts';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Autoscaler } from '../autoscaling/autoscaler.ts';
import type { WorkloadController } from '../supervision/workload.ts';

type Kind = 'Deployment' | 'StatefulSet';

/** One kube-state-metrics gauge per workload of `kind`, from its status. */
function workloadGauge(
  registry: Registry,
  workloads: () => Iterable<WorkloadController>,
  kind: Kind,
  name: string,
  help: string,
  value: (w: WorkloadController) => number,
): void {
  const label = kind === 'Deployment' ? 'deployment' : 'statefulset';
  new Gauge({
    name,
    help,
    labelNames: ['namespace', label],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of workloads())
        if (w.spec.kind === kind) this.set({ namespace: NAMESPACE, [label]: w.spec.name }, value(w));
    },
  });
}

/** The workloads' status under kube-state-metrics names (Deployments and StatefulSets). */
function workloadMetrics(registry: Registry, workloads: () => Iterable<WorkloadController>): void {
  const gauge = (kind: Kind, name: string, help: string, value: (w: WorkloadController) => number) =>
    workloadGauge(registry, workloads, kind, name, help, value);
  gauge(
    'Deployment',
    'kube_deployment_spec_replicas',
    'Number of desired pods for a deployment.',
    (w) => w.desired,
  );
  gauge(
    'Deployment',
    'kube_deployment_status_replicas_ready',
    'The number of ready replicas per deployment.',
    (w) => w.status().readyReplicas,
  );
  gauge(
    'Deployment',
    'kube_deployment_status_replicas_available',
    'The number of available replicas per deployment.',
    (w) => w.status().availableReplicas,
  );
  gauge(
    'StatefulSet',
    'kube_statefulset_replicas',
    'Number of desired pods for a StatefulSet.',
    (w) => w.desired,
  );
  gauge(
    'StatefulSet',
    'kube_statefulset_status_replicas',
    'The number of replicas per StatefulSet.',
    (w) => w.replicas.length,
  );
  gauge(
    'StatefulSet',
    'kube_statefulset_status_replicas_ready',
    'The number of ready replicas per StatefulSet.',
    (w) => w.status().readyReplicas,
  );
  gauge(
    'StatefulSet',
    'kube_statefulset_status_replicas_available',
    'The number of available replicas per StatefulSet.',
    (w) => w.status().availableReplicas,
  );
  gauge(
    'StatefulSet',
    'kube_statefulset_status_replicas_updated',
    'The number of updated replicas per StatefulSet.',
    (w) => w.status().updatedReplicas,
  );
  gauge(
    'StatefulSet',
    'kube_statefulset_metadata_generation',
    'Sequence number representing a specific generation of the desired state for the StatefulSet.',
    (w) => w.status().generation,
  );
  gauge(
    'StatefulSet',
    'kube_statefulset_status_observed_generation',
    'The generation observed by the StatefulSet controller.',
    (w) => w.status().observedGeneration,
  );
}

/** Every pod's restarts and readiness, whatever its workload (postgres-0 too). */
function podMetrics(registry: Registry, workloads: () => Iterable<WorkloadController>): void {
  new Counter({
    name: 'kube_pod_container_status_restarts_total',
    help: 'The number of container restarts per container (carried over to the replacement replica).',
    labelNames: ['namespace', 'pod', 'container'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of workloads()) {
        for (const r of w.replicas)
          this.inc({ namespace: NAMESPACE, pod: r.name, container: w.spec.containerName }, r.restarts);
      }
    },
  });
  new Gauge({
    name: 'kube_pod_status_ready',
    help: 'Describes whether the pod is ready to serve requests.',
    labelNames: ['namespace', 'pod', 'condition'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of workloads()) {
        for (const r of w.replicas) {
          this.set({ namespace: NAMESPACE, pod: r.name, condition: 'true' }, r.ready ? 1 : 0);
          this.set({ namespace: NAMESPACE, pod: r.name, condition: 'false' }, r.ready ? 0 : 1);
        }
      }
    },
  });
}

/**
 * The runtime's own metrics under kube-state-metrics names, so dashboards and alerts serve both
 * platforms: Deployments, the database's StatefulSet, the pods of both, the HPAs.
 */
export function createRuntimeMetrics(state: {
  workloads: () => Iterable<WorkloadController>;
  autoscaler: () => Autoscaler | undefined;
}): Registry {
  const registry = new Registry();
  workloadMetrics(registry, state.workloads);
  podMetrics(registry, state.workloads);
  new Gauge({
    name: 'kube_horizontalpodautoscaler_status_desired_replicas',
    help: 'Desired number of replicas of pods managed by this autoscaler.',
    labelNames: ['namespace', 'horizontalpodautoscaler'],
    registers: [registry],
    collect() {
      this.reset();
      for (const hpa of state.autoscaler()?.autoscalers ?? []) {
        if (hpa.desired !== undefined)
          this.set({ namespace: NAMESPACE, horizontalpodautoscaler: hpa.spec.name }, hpa.desired);
      }
    },
  });
  return registry;
}
