// Recent latencies of successful attempts, for the hedge delay: a ring of the last `size` samples whose
// percentile is recomputed every `every` samples (a sort of a few hundred numbers, not one per call).

export class LatencyTracker {
  readonly #samples: Float64Array;
  readonly #percentile: number;
  readonly #every: number;
  #count = 0;
  #next = 0;
  #cached = NaN;

  constructor(percentile: number, size = 256, every = 16) {
    if (!(percentile > 0 && percentile <= 100)) {
      throw new RangeError(`percentile must be in (0, 100], got ${percentile}`);
    }
    this.#samples = new Float64Array(size);
    this.#percentile = percentile;
    this.#every = every;
  }

  /** Samples recorded so far (at most the ring's size). */
  get count(): number {
    return Math.min(this.#count, this.#samples.length);
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    this.#count++;
    if (this.#count % this.#every === 0) this.#cached = NaN;
  }

  /** The percentile (nearest rank) of the samples held; NaN before the first. */
  value(): number {
    if (Number.isNaN(this.#cached) && this.count > 0) {
      const sorted = this.#samples.slice(0, this.count).sort();
      const rank = Math.ceil((this.#percentile / 100) * sorted.length);
      this.#cached = sorted[Math.max(0, rank - 1)]!;
    }
    return this.#cached;
  }
}
