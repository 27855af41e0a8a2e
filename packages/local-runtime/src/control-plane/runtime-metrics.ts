import { NAMESPACE } from '@self-healing-shop/contracts';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Autoscaler } from '../autoscaling/autoscaler.ts';
import type { DeploymentController } from '../supervision/deployment-controller.ts';

/** The runtime's own metrics under kube-state-metrics names, so dashboards and alerts serve both platforms. */
export function createRuntimeMetrics(state: {
  controllers: () => Iterable<DeploymentController>;
  autoscaler: () => Autoscaler | undefined;
}): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'kube_deployment_spec_replicas',
    help: 'Number of desired pods for a deployment.',
    labelNames: ['namespace', 'deployment'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.controllers())
        this.set({ namespace: NAMESPACE, deployment: c.spec.name }, c.desired);
    },
  });
  new Gauge({
    name: 'kube_deployment_status_replicas_ready',
    help: 'The number of ready replicas per deployment.',
    labelNames: ['namespace', 'deployment'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.controllers())
        this.set({ namespace: NAMESPACE, deployment: c.spec.name }, c.status().readyReplicas);
    },
  });
  new Gauge({
    name: 'kube_deployment_status_replicas_available',
    help: 'The number of available replicas per deployment.',
    labelNames: ['namespace', 'deployment'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.controllers())
        this.set({ namespace: NAMESPACE, deployment: c.spec.name }, c.status().availableReplicas);
    },
  });
  new Counter({
    name: 'kube_pod_container_status_restarts_total',
    help: 'The number of container restarts per container (carried over to the replacement replica).',
    labelNames: ['namespace', 'pod', 'container'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.controllers()) {
        for (const r of c.replicas)
          this.inc({ namespace: NAMESPACE, pod: r.name, container: c.spec.containerName }, r.restarts);
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
      for (const c of state.controllers()) {
        for (const r of c.replicas) {
          this.set({ namespace: NAMESPACE, pod: r.name, condition: 'true' }, r.ready ? 1 : 0);
          this.set({ namespace: NAMESPACE, pod: r.name, condition: 'false' }, r.ready ? 0 : 1);
        }
      }
    },
  });
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
