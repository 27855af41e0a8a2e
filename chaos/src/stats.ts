import { percentilesOf } from '@self-healing-shop/loadgen';

/** MTTR over rounds, in ms. Percentiles are loadgen's (the project's one definition, HdrHistogram). */
export interface Summary {
  count: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

export function summarizeMttr(values: readonly number[]): Summary {
  // Whole milliseconds: exact below 2048 ms, within 0.1 % above.
  const recorded = percentilesOf(values, { resolutionMs: 1 });
  return {
    count: recorded.count,
    min: recorded.min,
    p50: recorded.count === 0 ? Number.NaN : recorded.at(50),
    p95: recorded.count === 0 ? Number.NaN : recorded.at(95),
    max: recorded.max,
    mean: recorded.mean,
  };
}
