import * as hdr from 'hdr-histogram-js';

/**
 * The project's one percentile definition (loadgen latencies, chaos MTTR): an HdrHistogram
 * (hdr-histogram-js, as autocannon uses) with 3 significant digits, over microseconds by default.
 * The p-th percentile is the value at rank ceil(p/100 × n) (nearest rank), reported as the highest
 * value equivalent to it at that precision (exact below 2048 units, else within 0.1 %) and never
 * above the largest value recorded.
 */
export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

export interface PercentilesOptions {
  /** The smallest step told apart, in ms: 0.001 (a microsecond, latencies) or 1 (MTTR). */
  readonly resolutionMs?: number;
}

/** Records durations in milliseconds and answers percentiles over them. */
export class Percentiles {
  readonly #unitsPerMs: number;
  readonly #histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  #sum = 0;

  constructor(options: PercentilesOptions = {}) {
    const resolution = options.resolutionMs ?? 0.001;
    if (!(resolution > 0)) throw new RangeError(`resolutionMs must be > 0, got ${resolution}`);
    this.#unitsPerMs = 1 / resolution;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`a duration must be a finite number >= 0, got ${ms}`);
    this.#histogram.recordValue(Math.max(1, Math.round(ms * this.#unitsPerMs)));
    this.#min = Math.min(this.#min, ms);
    this.#max = Math.max(this.#max, ms);
    this.#sum += ms;
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  /** p in 0..100; NaN when nothing was recorded. */
  at(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`a percentile must be within 0..100, got ${p}`);
    if (this.count === 0) return Number.NaN;
    if (p === 100) return this.#max;
    const value = this.#histogram.getValueAtPercentile(p) / this.#unitsPerMs;
    return Math.min(Math.max(value, this.#min), this.#max);
  }

  get min(): number {
    return this.count === 0 ? Number.NaN : this.#min;
  }

  get max(): number {
    return this.count === 0 ? Number.NaN : this.#max;
  }

  get mean(): number {
    return this.count === 0 ? Number.NaN : this.#sum / this.count;
  }

  /** p50, p95, p99 and max in ms rounded to 0.1 ms; all 0 when nothing was recorded. */
  summary(): LatencySummary {
    if (this.count === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
    return {
      p50: round(this.at(50)),
      p95: round(this.at(95)),
      p99: round(this.at(99)),
      max: round(this.#max),
    };
  }
}

export function percentilesOf(values: Iterable<number>, options?: PercentilesOptions): Percentiles {
  const recorder = new Percentiles(options);
  for (const value of values) recorder.record(value);
  return recorder;
}

/** The p-th percentile (0..100) of durations in ms; 0 for none. */
export function percentile(values: Iterable<number>, p: number): number {
  const recorder = percentilesOf(values);
  return recorder.count === 0 ? 0 : recorder.at(p);
}

/** p50, p95, p99 and max of latencies in milliseconds, rounded to 0.1 ms. */
export function summarise(latencies: Iterable<number>): LatencySummary {
  return percentilesOf(latencies).summary();
}
