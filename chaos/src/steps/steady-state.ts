import { pause, type RunSettings } from '../actions/context.ts';
import type { Experiment } from '../experiment.ts';
import type { StartLoad } from '../load.ts';
import { atFullStrength, type Target, type WorkloadStatus } from '../target.ts';

export interface SteadyStateDeps {
  target: Target;
  startLoad: StartLoad;
  signal: AbortSignal;
  now: () => number;
  /** Orders answered 201 by the probes: the invariants read them back too. */
  acknowledge: (orderIds: readonly string[]) => void;
}

export interface SteadyState {
  ok: boolean;
  detail: string;
  workloads: WorkloadStatus[];
}

export function describeLagging(workloads: readonly WorkloadStatus[]): string[] {
  return workloads
    .filter((w) => !atFullStrength(w))
    .map(
      (w) =>
        `${w.name} has ${w.ready}/${w.desired} ready, ${w.updated} updated, ${w.available} available ` +
        `(generation ${w.generation}, observed ${w.observedGeneration})`,
    );
}

/** Probe orders: a short burst from the load generator; every one must succeed. */
async function probe(
  settings: RunSettings,
  deps: SteadyStateDeps,
  orders: number,
): Promise<{ ok: boolean; detail: string }> {
  if (orders === 0) return { ok: true, detail: 'no probe orders configured' };
  const report = await deps.startLoad({
    url: settings.url,
    rate: orders * 2,
    durationMs: 500,
    timeoutMs: settings.loadTimeoutMs ?? 5000,
    signal: deps.signal,
  }).done;
  deps.acknowledge(report.acknowledged);
  const ok = report.sent > 0 && report.succeeded === report.sent;
  const errors = Object.entries(report.errorsByKind)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  return {
    ok,
    detail: `${report.succeeded}/${report.sent} probe orders succeeded${errors ? ` (${errors})` : ''}`,
  };
}

/**
 * Every workload at full strength and probe orders succeeding, re-checked until `waitMs` has passed
 * (0 before the action: it must hold at once). After an action, services may need a moment more than
 * their workloads (a circuit breaker's cool-down), so probes are retried until the same deadline.
 */
export async function steadyState(
  experiment: Experiment,
  settings: RunSettings,
  deps: SteadyStateDeps,
  waitMs: number,
): Promise<SteadyState> {
  const deadline = deps.now() + waitMs;
  const remaining = (cap: number): number => Math.min(cap, Math.max(0, deadline - deps.now()));
  let workloads = await deps.target.listWorkloads();
  while (describeLagging(workloads).length > 0 && deps.now() < deadline && !deps.signal.aborted) {
    await pause(remaining(500), deps.signal);
    workloads = await deps.target.listWorkloads();
  }
  if (workloads.length === 0) return { ok: false, detail: 'no workload matches the selector', workloads };
  const lagging = describeLagging(workloads);
  if (lagging.length > 0) return { ok: false, detail: lagging.join('; '), workloads };
  let probed = await probe(settings, deps, experiment.steadyState.probeOrders);
  while (!probed.ok && deps.now() < deadline && !deps.signal.aborted) {
    await pause(remaining(1000), deps.signal);
    probed = await probe(settings, deps, experiment.steadyState.probeOrders);
  }
  return {
    ok: probed.ok,
    detail: `${workloads.length} workloads at full strength; ${probed.detail}`,
    workloads,
  };
}
