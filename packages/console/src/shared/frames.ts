/**
 * Prometheus HTTP API results turned into what the panels draw: series aligned on one time grid
 * (uPlot's data layout: `[xs, ys1, ys2, …]`, nulls where a step has no sample, so gaps show as gaps)
 * and, for state timelines, runs of equal values.
 */
import { seriesName, type Labels } from './legend.ts';

export interface MatrixSeries {
  readonly metric: Labels;
  /** `[unix seconds, "value"]` */
  readonly values: ReadonlyArray<readonly [number, string]>;
}

export interface VectorSample {
  readonly metric: Labels;
  readonly value: readonly [number, string];
}

export interface NamedSeries {
  readonly name: string;
  readonly labels: Labels;
  readonly values: Array<number | null>;
}

export interface AlignedFrame {
  /** Unix seconds, one per step from start to end. */
  readonly times: number[];
  readonly series: NamedSeries[];
}

function sampleValue(text: string): number | null {
  const v = Number(text);
  return Number.isFinite(v) ? v : null; // NaN and ±Inf (e.g. 0/0 ratios) are gaps, as in Grafana.
}

/** Puts every series of one or more range queries on the grid start, start+step, …, end. */
export function alignMatrix(
  results: ReadonlyArray<{ series: readonly MatrixSeries[]; legendFormat?: string }>,
  grid: { start: number; end: number; step: number },
): AlignedFrame {
  const { start, end, step } = grid;
  if (!(step > 0)) throw new Error(`step must be positive, got ${step}`);
  const times: number[] = [];
  for (let t = start; t <= end; t += step) times.push(t);
  const series: NamedSeries[] = [];
  for (const result of results) {
    for (const s of result.series) {
      const values: Array<number | null> = times.map(() => null);
      for (const [t, v] of s.values) {
        const i = Math.round((t - start) / step);
        if (i >= 0 && i < times.length) values[i] = sampleValue(v);
      }
      series.push({ name: seriesName(result.legendFormat, s.metric), labels: s.metric, values });
    }
  }
  return { times, series };
}

export function vectorValues(
  samples: readonly VectorSample[],
  legendFormat?: string,
): Array<{ name: string; labels: Labels; value: number | null; time: number }> {
  return samples.map((s) => ({
    name: seriesName(legendFormat, s.metric),
    labels: s.metric,
    value: sampleValue(s.value[1]),
    time: s.value[0],
  }));
}

export interface StateRun {
  readonly from: number;
  /** Exclusive: where the next run (or the grid) starts. */
  readonly to: number;
  readonly value: number;
}

/**
 * Runs of equal consecutive values (Grafana's state timeline with `mergeValues`); a null ends a run
 * and draws nothing.
 */
export function stateRuns(
  times: readonly number[],
  values: ReadonlyArray<number | null>,
  step: number,
): StateRun[] {
  const runs: StateRun[] = [];
  let current: { from: number; value: number } | undefined;
  for (let i = 0; i < times.length; i += 1) {
    const v = values[i];
    if (current && v !== current.value) {
      runs.push({ from: current.from, to: times[i], value: current.value });
      current = undefined;
    }
    if (v !== null && !current) current = { from: times[i], value: v };
  }
  if (current) runs.push({ from: current.from, to: times[times.length - 1] + step, value: current.value });
  return runs;
}
