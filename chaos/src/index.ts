export { main } from './command.ts';
export { runExperiment, type RunOptions, type RunDeps, type RunOutcome } from './run.ts';
export { loadExperiment, listExperiments, parseExperiment, type Experiment } from './experiment.ts';
export { parseDuration, formatDuration } from '@self-healing-shop/loadgen';
export { ALERTMANAGER_SERVICE, KubernetesTarget } from './targets/kubernetes-target.ts';
export { LocalTarget } from './targets/local-target.ts';
export type { Target, Replica, WorkloadStatus, TargetEvent } from './target.ts';
export { renderMetrics, type ChaosMetrics } from './report/prometheus.ts';
