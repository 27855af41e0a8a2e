import type { HpaSpec, ScalingRules } from '../manifests/hpa-spec.ts';

/** Kubernetes ignores changes within 10 % of the target (--horizontal-pod-autoscaler-tolerance). */
export const TOLERANCE = 0.1;

export interface HpaDecision {
  readonly desired: number;
  /** Why, for the `scaled` event: utilisation, target, from, to. */
  readonly reason: string;
}

interface Timed {
  readonly at: number;
  readonly value: number;
}

/**
 * The HPA controller's arithmetic for one CPU-utilisation HPA: desired = ceil(current × utilisation /
 * target), stabilised (scale up to the lowest, down to the highest recommendation of their windows),
 * limited by the scaling policies and by min/max. The clock is injected.
 */
export class HorizontalPodAutoscaler {
  readonly spec: HpaSpec;
  desired: number | undefined;
  readonly #now: () => number;
  #recommendations: Timed[] = [];
  #scaleEvents: Timed[] = [];

  constructor(spec: HpaSpec, now: () => number = Date.now) {
    this.spec = spec;
    this.#now = now;
  }

  /** One evaluation; `utilisation` is the average over ready replicas in percent of the CPU request (undefined: no metrics). */
  evaluate(current: number, utilisation: number | undefined): HpaDecision {
    const now = this.#now();
    const { minReplicas, maxReplicas, targetCpuUtilization: target } = this.spec;
    let raw = current;
    if (utilisation !== undefined && current > 0) {
      const ratio = utilisation / target;
      if (Math.abs(ratio - 1) > TOLERANCE) raw = Math.ceil(current * ratio);
    }
    raw = Math.min(Math.max(raw, minReplicas), maxReplicas);

    const upCutoff = now - this.spec.scaleUp.stabilizationWindowMs;
    const downCutoff = now - this.spec.scaleDown.stabilizationWindowMs;
    let up = raw;
    let down = raw;
    for (const recommendation of this.#recommendations) {
      if (recommendation.at > upCutoff) up = Math.min(up, recommendation.value);
      if (recommendation.at > downCutoff) down = Math.max(down, recommendation.value);
    }
    this.#recommendations.push({ at: now, value: raw });
    let stabilised = current;
    if (stabilised < up) stabilised = up;
    if (stabilised > down) stabilised = down;

    let desired = stabilised;
    if (stabilised > current)
      desired = Math.min(stabilised, this.#limit(current, now, this.spec.scaleUp, 'up'));
    else if (stabilised < current)
      desired = Math.max(stabilised, this.#limit(current, now, this.spec.scaleDown, 'down'));
    desired = Math.min(Math.max(desired, minReplicas), maxReplicas);

    if (desired !== current) this.#scaleEvents.push({ at: now, value: desired - current });
    this.#forget(now);
    this.desired = desired;
    const measured =
      utilisation === undefined ? 'no CPU metrics' : `cpu utilisation ${Math.round(utilisation)}%`;
    return { desired, reason: `${measured} (target ${target}%): ${current} -> ${desired}` };
  }

  /** The furthest the policies let the count move from `current` now (Kubernetes' period-based limits). */
  #limit(current: number, now: number, rules: ScalingRules, direction: 'up' | 'down'): number {
    if (rules.selectPolicy === 'Disabled') return current;
    const limits = rules.policies.map((policy) => {
      const changed = this.#scaleEvents
        .filter(
          (event) =>
            event.at > now - policy.periodMs && (direction === 'up' ? event.value > 0 : event.value < 0),
        )
        .reduce((sum, event) => sum + Math.abs(event.value), 0);
      if (direction === 'up') {
        const start = current - changed;
        return policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
      }
      const start = current + changed;
      return policy.type === 'Pods' ? start - policy.value : Math.floor(start * (1 - policy.value / 100));
    });
    // "Max" picks the policy allowing the biggest change: the highest limit up, the lowest down.
    const widest = (rules.selectPolicy === 'Max') === (direction === 'up');
    return widest ? Math.max(...limits) : Math.min(...limits);
  }

  #forget(now: number): void {
    const keep = Math.max(
      this.spec.scaleUp.stabilizationWindowMs,
      this.spec.scaleDown.stabilizationWindowMs,
      ...this.spec.scaleUp.policies.map((p) => p.periodMs),
      ...this.spec.scaleDown.policies.map((p) => p.periodMs),
    );
    this.#recommendations = this.#recommendations.filter((r) => r.at > now - keep);
    this.#scaleEvents = this.#scaleEvents.filter((e) => e.at > now - keep);
  }
}
