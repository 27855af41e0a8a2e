import { formatDuration } from '@self-healing-shop/loadgen';
import type { Summary } from './stats.ts';

export interface Objective {
  name: string;
  passed: boolean;
  expected: string;
  actual: string;
  /** Why it failed, in words a reader of the CI log understands. */
  reason?: string;
  /** The findings behind it, one per line (e.g. the invariant violations). */
  details?: string[];
  /**
   * Could not be judged for a reason outside the platform (no Alertmanager): not passed, but it does
   * not break the verdict (JUnit `skipped`, terminal `NOT CHECKED`).
   */
  notChecked?: boolean;
}

export interface Verdict {
  passed: boolean;
  objectives: Objective[];
  reasons: string[];
}

export interface VerdictInput {
  /** Whether the experiment kills replicas, so MTTR objectives apply. */
  measuresRecovery: boolean;
  mttr: Summary;
  mttrSloMs: number;
  /** Disruptions carried out, and how many of them recovered in time. */
  disruptions: number;
  recovered: number;
  recoveryTimeoutMs: number;
  minSuccess: number;
  /** Orders counted by the success objective. */
  load: { sent: number; succeeded: number } | undefined;
  /** Which orders count, e.g. `all orders` or `orders after recovery`. */
  loadScope: string;
  steadyStateAfter: { ok: boolean; detail: string };
  extra?: Objective[];
}

export function objective(
  name: string,
  passed: boolean,
  expected: string,
  actual: string,
  reason: string,
): Objective {
  return passed ? { name, passed, expected, actual } : { name, passed, expected, actual, reason };
}

export function judge(input: VerdictInput): Verdict {
  const objectives: Objective[] = [];
  if (input.measuresRecovery) {
    objectives.push(
      objective(
        'every disruption recovered',
        input.disruptions > 0 && input.recovered === input.disruptions,
        `every disruption back to full strength within ${formatDuration(input.recoveryTimeoutMs)}`,
        `${input.recovered} of ${input.disruptions} recovered`,
        input.disruptions === 0
          ? 'no replica was killed (every candidate was refused), so recovery was not measured'
          : `${input.disruptions - input.recovered} disruption(s) not back to full strength within ${formatDuration(input.recoveryTimeoutMs)}`,
      ),
    );
    const p95 = input.mttr.p95;
    objectives.push(
      objective(
        'MTTR p95 within SLO',
        input.mttr.count > 0 && p95 <= input.mttrSloMs,
        `p95 <= ${formatDuration(input.mttrSloMs)}`,
        input.mttr.count > 0
          ? `p95 ${formatDuration(p95)} over ${input.mttr.count} recoveries`
          : 'no recovery measured',
        input.mttr.count > 0
          ? `MTTR p95 ${formatDuration(p95)} exceeds the SLO of ${formatDuration(input.mttrSloMs)}`
          : 'no recovery was measured, so MTTR cannot meet the SLO',
      ),
    );
  }
  const sent = input.load?.sent ?? 0;
  const ratio = sent > 0 ? (input.load?.succeeded ?? 0) / sent : Number.NaN;
  objectives.push(
    objective(
      'order success ratio',
      sent > 0 && ratio >= input.minSuccess,
      `>= ${input.minSuccess} of ${input.loadScope}`,
      sent > 0 ? `${ratio.toFixed(4)} (${input.load?.succeeded}/${sent})` : 'no orders sent',
      sent > 0
        ? `success ratio ${ratio.toFixed(4)} of ${input.loadScope} is under the minimum ${input.minSuccess}`
        : `no orders were sent (${input.loadScope}), so the success ratio cannot be judged`,
    ),
  );
  objectives.push(
    objective(
      'steady state after',
      input.steadyStateAfter.ok,
      'every Deployment at full strength and probe orders succeeding',
      input.steadyStateAfter.detail,
      `steady state not restored: ${input.steadyStateAfter.detail}`,
    ),
  );
  objectives.push(...(input.extra ?? []));
  const reasons = objectives.filter((o) => !o.passed && !o.notChecked).map((o) => o.reason ?? o.name);
  return { passed: reasons.length === 0, objectives, reasons };
}
