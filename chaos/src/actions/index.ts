import { formatDuration } from '@self-healing-shop/loadgen';
import type { Experiment } from '../experiment.ts';
import type { Replica } from '../target.ts';
import { burstRound } from './burst.ts';
import type { ActionDefinition, PlanContext } from './context.ts';
import { startContention } from './cpu-contention.ts';
import { cpuStressRound } from './cpu-stress.ts';
import { dependencyOutageRound, faultRound } from './fault.ts';
import { freezeRound } from './freeze.ts';
import { killRound } from './kill.ts';
import { describePlan, planAllReplicas, planDatabase, planOneReplica } from './victims.ts';

/** A fault on every replica of a workload: the dry-run row. */
function planFault(ctx: PlanContext, replicas: readonly Replica[]): string[] {
  const action = ctx.experiment.action as { kind: string; workload: string; duration: number };
  const workload = ctx.settings.workload ?? action.workload;
  const targets = replicas.filter((r) => r.workload === workload).map((r) => r.name);
  return [
    workload,
    `${action.kind} for ${formatDuration(action.duration)} on ${targets.join(', ') || '(no replica)'}`,
  ];
}

/** Every action kind of the experiment files, with what it declares: recovery objectives, plan, set-up. */
export const ACTIONS: Record<Experiment['action']['kind'], ActionDefinition> = {
  'pod-kill': {
    round: (ctx, round) => killRound(ctx, round, { plan: planOneReplica }),
    measuresRecovery: true,
    plan: (ctx, replicas, workloads) => describePlan(planOneReplica(ctx, replicas, workloads), 'kill'),
  },
  'pod-kill-all': {
    round: (ctx, round) => killRound(ctx, round, { plan: planAllReplicas }),
    measuresRecovery: true,
    plan: (ctx, replicas, workloads) => describePlan(planAllReplicas(ctx, replicas, workloads), 'kill'),
  },
  'database-kill': {
    round: (ctx, round) => killRound(ctx, round, { plan: planDatabase, wholePlatform: true }),
    measuresRecovery: true,
    plan: (ctx, replicas, workloads) =>
      describePlan(
        planDatabase(ctx, replicas, workloads),
        'kill (then every workload back to full strength)',
      ),
  },
  'cpu-contention': {
    round: (ctx, round) => killRound(ctx, round, { plan: planOneReplica }),
    measuresRecovery: true,
    plan: (ctx, replicas, workloads) =>
      describePlan(planOneReplica(ctx, replicas, workloads), 'with every core busy, kill'),
    prepare: startContention,
  },
  'pod-freeze': {
    round: freezeRound,
    measuresRecovery: true,
    plan: (ctx, replicas, workloads) => {
      const duration = (ctx.experiment.action as { duration: number }).duration;
      return describePlan(planOneReplica(ctx, replicas, workloads), `freeze for ${formatDuration(duration)}`);
    },
  },
  burst: {
    round: burstRound,
    measuresRecovery: false,
    plan: (ctx) => {
      const action = ctx.experiment.action as { orders: number; productId: string; quantity: number };
      return [
        'order',
        `${action.orders} orders at once for ${action.productId} (quantity ${action.quantity} each)`,
      ];
    },
  },
  fault: { round: faultRound, measuresRecovery: false, plan: planFault },
  'dependency-outage': { round: dependencyOutageRound, measuresRecovery: false, plan: planFault },
  'cpu-stress': { round: cpuStressRound, measuresRecovery: false, plan: planFault },
};
