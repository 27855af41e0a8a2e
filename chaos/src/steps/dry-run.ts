import { formatDuration } from '@self-healing-shop/loadgen';
import { ACTIONS } from '../actions/index.ts';
import type { RunSettings } from '../actions/context.ts';
import type { Experiment } from '../experiment.ts';
import { createRandom } from '../random.ts';
import { table } from '../report/terminal.ts';
import type { Target } from '../target.ts';

/** --dry-run: what each round would hit, chosen with the same seed; nothing is touched. */
export async function printDryRun(
  experiment: Experiment,
  settings: RunSettings & { seed: string; invariants: boolean },
  target: Target,
  print: (line: string) => void,
): Promise<void> {
  const [replicas, workloads] = await Promise.all([target.listReplicas(), target.listWorkloads()]);
  const ctx = { experiment, settings, random: createRandom(settings.seed) };
  const definition = ACTIONS[experiment.action.kind];
  print(`dry run of ${experiment.name} (seed ${settings.seed}) against ${target.description}`);
  print(experiment.description);
  const rows: string[][] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    rows.push([String(round), ...definition.plan(ctx, replicas, workloads)]);
  }
  print(table(['round', 'workload', 'action'], rows));
  const objectives = [
    ...(definition.measuresRecovery ? [`MTTR p95 <= ${formatDuration(settings.mttrSloMs)}`] : []),
    `success >= ${settings.minSuccess}`,
    ...(settings.invariants && experiment.objectives.invariants ? ['data invariants hold'] : []),
    ...(experiment.alerts?.expected.length
      ? [
          `alerts fire within ${formatDuration(experiment.alerts.within)}: ${experiment.alerts.expected.join(', ')}`,
        ]
      : []),
    ...(experiment.alerts?.silent.length
      ? [`alerts stay silent: ${experiment.alerts.silent.join(', ')}`]
      : []),
  ];
  print(
    `load ${settings.loadRate}/s on ${settings.url}; objectives: ${objectives.join(', ')}. Nothing was touched (dry run).`,
  );
}
