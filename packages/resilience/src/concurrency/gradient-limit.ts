// The limit algorithm of Netflix concurrency-limits' Gradient2 (written anew here): the limit follows the
// ratio of a long-term average round-trip time to the latest one. When our own burst queues up at the
// dependency, its RTT rises above the long-term average, the gradient drops below 1 and the limit
// shrinks, so the excess waits in our queue (where it costs the dependency nothing) instead of timing out
// there. While RTTs stay at their average the limit grows by `queueSize` per sample, up to `maxLimit`.

export interface GradientLimitOptions {
  /** Limit before any sample; default 20. */
  readonly initialLimit?: number;
  /** Floor of the limit; default 4. */
  readonly minLimit?: number;
  /** Ceiling of the limit; default 200. */
  readonly maxLimit?: number;
  /** Growth allowed per sample while latency stays at its average; default 4. */
  readonly queueSize?: number;
  /** How much one sample moves the limit, in (0, 1]; default 0.2. */
  readonly smoothing?: number;
  /** Samples in the long-term RTT average (exponential); default 600. */
  readonly longWindow?: number;
}

export class GradientLimit {
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly #queueSize: number;
  readonly #smoothing: number;
  readonly #longWindow: number;
  #estimate: number;
  #longRtt = 0;
  #samples = 0;

  constructor(options: GradientLimitOptions = {}) {
    this.minLimit = positiveInteger('minLimit', options.minLimit ?? 4);
    this.maxLimit = positiveInteger('maxLimit', options.maxLimit ?? 200);
    const initial = positiveInteger('initialLimit', options.initialLimit ?? Math.min(20, this.maxLimit));
    if (this.minLimit > this.maxLimit || initial < this.minLimit || initial > this.maxLimit) {
      throw new RangeError(
        `need minLimit <= initialLimit <= maxLimit, got ${this.minLimit}, ${initial}, ${this.maxLimit}`,
      );
    }
    this.#estimate = initial;
    this.#queueSize = options.queueSize ?? 4;
    this.#smoothing = options.smoothing ?? 0.2;
    this.#longWindow = positiveInteger('longWindow', options.longWindow ?? 600);
    if (!(this.#queueSize >= 0)) throw new RangeError(`queueSize must be >= 0, got ${this.#queueSize}`);
    if (!(this.#smoothing > 0 && this.#smoothing <= 1)) {
      throw new RangeError(`smoothing must be in (0, 1], got ${this.#smoothing}`);
    }
  }

  /** Calls allowed at once. */
  get limit(): number {
    return Math.floor(this.#estimate);
  }

  /** The long-term average RTT in ms (0 before the first sample). */
  get longRttMs(): number {
    return this.#longRtt;
  }

  /** Feeds one completed call: its round-trip time and the calls in flight when it completed (itself included). */
  update(rttMs: number, inflight: number): void {
    const rtt = Math.max(rttMs, 0.001);
    this.#samples++;
    // A plain mean over the first samples, then an exponential average over `longWindow` samples.
    const weight = this.#samples <= 10 ? 1 / this.#samples : 2 / (this.#longWindow + 1);
    this.#longRtt += (rtt - this.#longRtt) * weight;
    // Back from a long overload the average lags far above the current RTT: pull it down faster.
    if (this.#longRtt / rtt > 2) this.#longRtt *= 0.9;
    // An application that uses less than half the limit says nothing about what the dependency can take.
    if (inflight < this.#estimate / 2) return;
    const gradient = Math.max(0.5, Math.min(1, this.#longRtt / rtt));
    const target = this.#estimate * gradient + this.#queueSize;
    const next = this.#estimate * (1 - this.#smoothing) + target * this.#smoothing;
    this.#estimate = Math.max(this.minLimit, Math.min(this.maxLimit, next));
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
  return value;
}
