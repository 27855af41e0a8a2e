import { NAMESPACE, PLATFORM_SELECTOR } from '@self-healing-shop/contracts';
import type { Replica, WorkloadStatus } from './target.ts';

/** A safety rule refused to go on; the message says what to do instead. Exit code 2. */
export class SafetyError extends Error {
  override name = 'SafetyError';
}

export const DEFAULT_NAMESPACES = [NAMESPACE];
export const DEFAULT_SELECTOR = PLATFORM_SELECTOR;

export function checkNamespace(namespace: string, allowed: readonly string[]): void {
  if (!allowed.includes(namespace)) {
    throw new SafetyError(
      `namespace "${namespace}" is not in the allowlist (${allowed.join(', ')}); ` +
        `add --allow-namespace ${namespace} if you really mean it`,
    );
  }
}

export function checkSelector(selector: string): void {
  if (!selector.trim()) {
    throw new SafetyError(
      'an empty --selector would match every pod of the namespace; name the platform label',
    );
  }
}

/** Only throwaway KIND clusters by default: the context name must start with `kind-`. */
export function checkContext(context: string, allowContext: string | undefined): void {
  if (context.startsWith('kind-') || (allowContext !== undefined && allowContext === context)) return;
  throw new SafetyError(
    `kubeconfig context "${context}" is not a KIND cluster (kind-*); ` +
      `switch context or pass --allow-context ${context} if this cluster may be disrupted`,
  );
}

/** Against Kubernetes nothing is killed without an explicit yes. */
export function checkConfirmed(options: { yes: boolean; env: Record<string, string | undefined> }): void {
  if (options.yes || options.env.CHAOS_CONFIRM === '1') return;
  throw new SafetyError(
    'refusing to disrupt a Kubernetes cluster without confirmation: pass --yes (or set CHAOS_CONFIRM=1), ' +
      'or --dry-run to see the plan',
  );
}

export type KillDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * May this replica be killed now? Protected replicas and workloads never; the last ready replica of
 * a workload only when the experiment is meant to cause an outage.
 */
export function mayKill(
  victim: Replica,
  replicas: readonly Replica[],
  workload: WorkloadStatus | undefined,
  outage: boolean,
): KillDecision {
  if (victim.protected) return { allowed: false, reason: `${victim.name} is labelled protected` };
  if (workload?.protected)
    return { allowed: false, reason: `workload ${victim.workload} is labelled protected` };
  if (victim.phase === 'terminating')
    return { allowed: false, reason: `${victim.name} is already terminating` };
  if (!outage) {
    const othersReady = replicas.filter(
      (r) => r.workload === victim.workload && r.uid !== victim.uid && r.ready && r.phase !== 'terminating',
    ).length;
    if (othersReady === 0) {
      return {
        allowed: false,
        reason: `killing ${victim.name} would leave ${victim.workload} with no ready replica (not an outage experiment)`,
      };
    }
  }
  return { allowed: true };
}

/** Every replica that a pod-kill-all would take down, or why not. */
export function mayKillAll(
  workloadName: string,
  replicas: readonly Replica[],
  workload: WorkloadStatus | undefined,
  outage: boolean,
): { allowed: true; victims: Replica[] } | { allowed: false; reason: string } {
  if (!workload) return { allowed: false, reason: `no Deployment named ${workloadName} in scope` };
  if (workload.protected) return { allowed: false, reason: `workload ${workloadName} is labelled protected` };
  if (!outage)
    return { allowed: false, reason: `killing every replica of ${workloadName} needs an outage experiment` };
  const victims = replicas.filter((r) => r.workload === workloadName && r.phase !== 'terminating');
  const shielded = victims.filter((r) => r.protected);
  if (shielded.length > 0) {
    return { allowed: false, reason: `${shielded.map((r) => r.name).join(', ')} labelled protected` };
  }
  if (victims.length === 0) return { allowed: false, reason: `${workloadName} has no replica to kill` };
  return { allowed: true, victims };
}
