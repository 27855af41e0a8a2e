import { DATABASE_REPLICA, DATABASE_WORKLOAD } from '@self-healing-shop/contracts';
import { mayKill, mayKillAll, type KillDecision } from '../safety.ts';
import type { Replica, WorkloadStatus } from '../target.ts';
import type { PlanContext } from './context.ts';

export interface Plan {
  workload: string;
  victims: Replica[];
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; workload?: string; reason: string };

/** The workload named by --workload or the action, if any. */
function chosenWorkload(ctx: PlanContext): string | undefined {
  const action = ctx.experiment.action as { workload?: string };
  return ctx.settings.workload ?? action.workload;
}

/** The plan a safety decision allows (those `victims` of `workload`), or its refusal. */
function decided(workload: string, decision: KillDecision, victims: Replica[]): PlanResult {
  return decision.allowed
    ? { ok: true, plan: { workload, victims } }
    : { ok: false, workload, reason: decision.reason };
}

/**
 * One replica, chosen with the seeded random source: of the chosen Deployment, or of a random
 * Deployment in scope (the database's StatefulSet has an experiment of its own).
 */
export function planOneReplica(
  ctx: PlanContext,
  replicas: readonly Replica[],
  workloads: readonly WorkloadStatus[],
): PlanResult {
  const { outage } = ctx.experiment;
  const byName = new Map(workloads.map((w) => [w.name, w]));
  const chosen = chosenWorkload(ctx);
  if (chosen && !byName.has(chosen))
    return { ok: false, workload: chosen, reason: `no workload named ${chosen} in scope` };
  const names = chosen ? [chosen] : workloads.filter((w) => w.kind === 'Deployment').map((w) => w.name);
  const refusals: string[] = [];
  const candidatesByWorkload = new Map<string, Replica[]>();
  for (const name of [...names].sort()) {
    const candidates = replicas.filter((r) => {
      if (r.workload !== name) return false;
      const decision = mayKill(r, replicas, byName.get(name), outage);
      if (!decision.allowed) refusals.push(decision.reason);
      return decision.allowed;
    });
    if (candidates.length > 0) candidatesByWorkload.set(name, candidates);
  }
  if (candidatesByWorkload.size === 0) {
    return {
      ok: false,
      workload: chosen,
      reason: refusals.length
        ? `no replica may be disrupted: ${[...new Set(refusals)].join('; ')}`
        : 'no replica in scope',
    };
  }
  const workload = ctx.random.pick([...candidatesByWorkload.keys()].sort());
  const victim = ctx.random.pick(candidatesByWorkload.get(workload) ?? []);
  return { ok: true, plan: { workload, victims: [victim] } };
}

/** Every replica of the chosen workload (an outage experiment). */
export function planAllReplicas(
  ctx: PlanContext,
  replicas: readonly Replica[],
  workloads: readonly WorkloadStatus[],
): PlanResult {
  const name = chosenWorkload(ctx);
  if (!name) return { ok: false, reason: 'the experiment names no workload' };
  const decision = mayKillAll(
    name,
    replicas,
    workloads.find((w) => w.name === name),
    ctx.experiment.outage,
  );
  return decided(name, decision, decision.allowed ? decision.victims : []);
}

/** The database: replica postgres-0 of the StatefulSet `postgres`. */
export function planDatabase(
  ctx: PlanContext,
  replicas: readonly Replica[],
  workloads: readonly WorkloadStatus[],
): PlanResult {
  const victim = replicas.find((r) => r.name === DATABASE_REPLICA && r.workload === DATABASE_WORKLOAD);
  if (!victim) {
    return {
      ok: false,
      workload: DATABASE_WORKLOAD,
      reason: `no replica ${DATABASE_REPLICA} of ${DATABASE_WORKLOAD} in scope (is the database part of the platform's selector?)`,
    };
  }
  const status = workloads.find((w) => w.name === DATABASE_WORKLOAD);
  return decided(DATABASE_WORKLOAD, mayKill(victim, replicas, status, ctx.experiment.outage), [victim]);
}

export type Planner = typeof planOneReplica;

/** The dry-run row of a planned disruption. */
export function describePlan(planned: PlanResult, verb: string): string[] {
  return planned.ok
    ? [planned.plan.workload, `${verb} ${planned.plan.victims.map((v) => v.name).join(', ')}`]
    : [planned.workload ?? '-', `refused: ${planned.reason}`];
}
