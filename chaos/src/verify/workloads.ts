import { atFullStrength, type WorkloadStatus } from '../target.ts';
import { fail, pass, type CheckOutcome } from './check.ts';

/**
 * Every workload's rollout complete, as `kubectl rollout status` judges it: observedGeneration caught up
 * with generation, updated == available == ready == spec.replicas.
 */
export function judgeWorkloads(
  workloads: readonly WorkloadStatus[],
  next: (lagging: string[]) => string,
): CheckOutcome {
  if (workloads.length === 0) return fail('no workload found', next([]));
  const lagging = workloads.filter((w) => !atFullStrength(w));
  const seen = workloads
    .map((w) => {
      const counts = `${w.name} ${w.ready}/${w.desired}`;
      if (atFullStrength(w)) return counts;
      const generation =
        w.observedGeneration < w.generation
          ? `, generation ${w.observedGeneration}/${w.generation} observed`
          : '';
      return `${counts} (updated ${w.updated}, available ${w.available}${generation})`;
    })
    .join(', ');
  return lagging.length === 0
    ? pass(`${workloads.length} workloads complete: ${seen}`)
    : fail(
        `not complete: ${lagging.map((w) => w.name).join(', ')}; seen ${seen}`,
        next(lagging.map((w) => w.name)),
      );
}
