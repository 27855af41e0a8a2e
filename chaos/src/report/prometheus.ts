/** metrics.prom: the chaos figures in Prometheus text format (names are a README contract). */

export interface ChaosMetrics {
  experiment: string;
  mttrSeconds: { min: number; p50: number; p95: number; max: number } | undefined;
  kills: number;
  successRatio: number;
  passed: boolean;
  timestampSeconds: number;
}

export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

const num = (n: number): string => (Number.isNaN(n) ? 'NaN' : String(n));

export function renderMetrics(m: ChaosMetrics): string {
  const exp = `experiment="${escapeLabel(m.experiment)}"`;
  const lines = [
    '# HELP chaos_mttr_seconds Time from a kill to the workload back at full strength, over the rounds of the last run.',
    '# TYPE chaos_mttr_seconds gauge',
  ];
  if (m.mttrSeconds) {
    const q: Array<[string, number]> = [
      ['0', m.mttrSeconds.min],
      ['0.5', m.mttrSeconds.p50],
      ['0.95', m.mttrSeconds.p95],
      ['1', m.mttrSeconds.max],
    ];
    for (const [quantile, value] of q)
      lines.push(`chaos_mttr_seconds{${exp},quantile="${quantile}"} ${num(value)}`);
  }
  lines.push(
    '# HELP chaos_kills_total Replicas killed by the last run.',
    '# TYPE chaos_kills_total counter',
    `chaos_kills_total{${exp}} ${m.kills}`,
    '# HELP chaos_success_ratio Share of orders that succeeded during the last run (as the verdict counts them).',
    '# TYPE chaos_success_ratio gauge',
    `chaos_success_ratio{${exp}} ${num(m.successRatio)}`,
    '# HELP chaos_verdict 1 when the last run met every objective, else 0.',
    '# TYPE chaos_verdict gauge',
    `chaos_verdict{${exp}} ${m.passed ? 1 : 0}`,
    '# HELP chaos_last_run_timestamp_seconds When the last run ended (Unix time).',
    '# TYPE chaos_last_run_timestamp_seconds gauge',
    `chaos_last_run_timestamp_seconds{${exp}} ${m.timestampSeconds}`,
    '',
  );
  return lines.join('\n');
}
