import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock/clock.ts';
import { CircuitOpenError, countsAsFailure } from '../errors/errors.ts';
import type { HealthCheck } from '../health/health-check.ts';
import { dependencyMetrics, type CircuitStateLabel, type DependencyMetrics } from '../metrics/metrics.ts';
import { createOutcomeWindow, type FailureDetectorOptions, type OutcomeWindow } from './outcome-window.ts';

// The state machine is written here rather than taken from cockatiel's CircuitBreakerPolicy because the
// platform needs what that one lacks: the injected clock, half-open entered by a timer (so the state is
// right after the cool-down without a call, cockatiel #91 / opossum #119), slow calls as failures, and
// a dispose() that drops every timer and listener (opossum #248).

export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface CircuitStateChange {
  readonly dependency: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
}

export interface Disposable {
  dispose(): void;
}

export interface CircuitBreakerOptions {
  /** What opens the circuit; default `{ kind: 'count', size: 20, failureRatePercent: 50, minimumCalls: 10 }`. */
  readonly failureDetector?: FailureDetectorOptions;
  /** Calls slower than `thresholdMs` are slow; the circuit opens when `ratePercent` of the window is slow. */
  readonly slowCall?: { readonly thresholdMs: number; readonly ratePercent: number };
  /** How long the circuit stays open before it lets probe calls through; default 10000. */
  readonly coolDownMs?: number;
  /**
   * Half-open admits `probes` calls (default 5) and closes after `successesToClose` of them succeed
   * (default 3). A probe without an outcome after `probeTimeoutMs` (default 5000) counts as a failed probe,
   * so hanging probes cannot hold the circuit half-open forever.
   */
  readonly halfOpen?: {
    readonly probes?: number;
    readonly successesToClose?: number;
    readonly probeTimeoutMs?: number;
  };
  /** Which errors count as failures; default every error except those with `countsAsFailure: false`. */
  readonly isFailure?: (error: unknown) => boolean;
  /** Whether the health check `circuit:<dependency>` is critical; default false. */
  readonly critical?: boolean;
}

export interface CircuitBreakerDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: Clock;
}

export const DEFAULT_FAILURE_DETECTOR: FailureDetectorOptions = {
  kind: 'count',
  size: 20,
  failureRatePercent: 50,
  minimumCalls: 10,
};

const STATE_LABEL: Readonly<Record<CircuitState, CircuitStateLabel>> = {
  closed: 'closed',
  open: 'open',
  'half-open': 'half_open',
  isolated: 'isolated',
};

/**
 * A permission to call the dependency, handed back with the outcome so late results of an old state are
 * ignored. Opaque to callers; a half-open probe's permit also carries its probe timer.
 */
export interface CircuitPermit {
  readonly generation: number;
}

class Permit implements CircuitPermit {
  readonly generation: number;
  /** Half-open probes are counted once each; closed permits are shared and never settle. */
  readonly probe: boolean;
  settled = false;
  timer: unknown = undefined;

  constructor(generation: number, probe: boolean) {
    this.generation = generation;
    this.probe = probe;
  }
}

export class CircuitBreaker {
  readonly dependency: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: DependencyMetrics;
  readonly #window: OutcomeWindow;
  readonly #slowMs: number;
  readonly #coolDownMs: number;
  readonly #probes: number;
  readonly #successesToClose: number;
  readonly #probeTimeoutMs: number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #critical: boolean;
  readonly #listeners = new Set<(change: CircuitStateChange) => void>();
  #state: CircuitState = 'closed';
  /** Changes with every transition; a permit from an older generation no longer counts. */
  #generation = 0;
  /** Shared by every call of one closed generation: no allocation on the hot path. */
  #closedPermit = new Permit(0, false);
  #openUntil = 0;
  #coolDownTimer: unknown = undefined;
  #probesAdmitted = 0;
  #probeSuccesses = 0;
  #probeFailures = 0;
  #disposed = false;

  constructor(dependency: string, options: CircuitBreakerOptions, deps: CircuitBreakerDeps) {
    this.dependency = dependency;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger;
    this.#metrics = dependencyMetrics(deps.registry, dependency);
    if (options.slowCall !== undefined && !(options.slowCall.thresholdMs > 0)) {
      throw new RangeError(`slowCall.thresholdMs must be > 0, got ${options.slowCall.thresholdMs}`);
    }
    const clock = this.#clock;
    this.#window = createOutcomeWindow(
      options.failureDetector ?? DEFAULT_FAILURE_DETECTOR,
      options.slowCall?.ratePercent,
      () => clock.now(),
    );
    this.#slowMs = options.slowCall?.thresholdMs ?? Infinity;
    this.#coolDownMs = options.coolDownMs ?? 10_000;
    this.#probes = options.halfOpen?.probes ?? 5;
    this.#successesToClose = options.halfOpen?.successesToClose ?? Math.min(3, this.#probes);
    this.#probeTimeoutMs = options.halfOpen?.probeTimeoutMs ?? 5000;
    if (!(this.#probeTimeoutMs > 0)) {
      throw new RangeError(`halfOpen.probeTimeoutMs must be > 0, got ${this.#probeTimeoutMs}`);
    }
    if (!(this.#coolDownMs >= 0)) throw new RangeError(`coolDownMs must be >= 0, got ${this.#coolDownMs}`);
    if (!Number.isSafeInteger(this.#probes) || this.#probes < 1) {
      throw new RangeError(`halfOpen.probes must be an integer >= 1, got ${this.#probes}`);
    }
    if (
      !Number.isSafeInteger(this.#successesToClose) ||
      this.#successesToClose < 1 ||
      this.#successesToClose > this.#probes
    ) {
      throw new RangeError(
        `halfOpen.successesToClose must be an integer in [1, probes], got ${this.#successesToClose}`,
      );
    }
    this.#isFailure = options.isFailure ?? countsAsFailure;
    this.#critical = options.critical ?? false;
    this.#metrics.setCircuitState('closed');
  }

  get state(): CircuitState {
    // The cool-down timer normally moves open to half-open; this covers a clock whose timers lag.
    if (this.#state === 'open' && this.#clock.now() >= this.#openUntil) this.#enterHalfOpen();
    return this.#state;
  }

  /** Whether outcomes need their duration (slow-call detection); callers may skip timing otherwise. */
  get measuresDuration(): boolean {
    return this.#slowMs !== Infinity;
  }

  /** Milliseconds left before an open circuit admits probes; 0 when not open. */
  get remainingCoolDownMs(): number {
    return this.state === 'open' ? Math.max(0, this.#openUntil - this.#clock.now()) : 0;
  }

  /** Asks to call the dependency now; throws CircuitOpenError when the circuit rejects the call. */
  acquire(): CircuitPermit {
    const state = this.#state === 'open' ? this.state : this.#state;
    switch (state) {
      case 'closed':
        return this.#closedPermit;
      case 'half-open':
        if (this.#probesAdmitted >= this.#probes) throw new CircuitOpenError(this.dependency, 'half-open');
        this.#probesAdmitted++;
        return this.#probePermit();
      case 'open':
        throw new CircuitOpenError(this.dependency, 'open', Math.ceil(this.#openUntil - this.#clock.now()));
      case 'isolated':
        throw new CircuitOpenError(this.dependency, 'isolated');
    }
  }

  /** Reports a call that completed; `durationMs` decides whether it was slow. */
  onSuccess(permit: CircuitPermit, durationMs: number): void {
    if (this.#settle(permit)) this.#record(permit, false, durationMs >= this.#slowMs);
  }

  /** Reports a call that threw: counted as a failure or, for errors such as a 404, as a success. */
  onError(permit: CircuitPermit, error: unknown, durationMs: number): void {
    if (this.#settle(permit)) this.#record(permit, this.#isFailure(error), durationMs >= this.#slowMs);
  }

  /** Gives a permit back without an outcome (the caller cancelled): a half-open probe slot frees up. */
  release(permit: CircuitPermit): void {
    if (!this.#settle(permit)) return;
    if (permit.generation === this.#generation && this.#state === 'half-open') this.#probesAdmitted--;
  }

  #probePermit(): Permit {
    const permit = new Permit(this.#generation, true);
    permit.timer = this.#clock.setTimeout(
      () => {
        permit.timer = undefined;
        if (permit.settled) return;
        permit.settled = true;
        if (permit.generation !== this.#generation) return;
        this.#logger.warn(
          { dependency: this.dependency, probeTimeoutMs: this.#probeTimeoutMs },
          'half-open probe timed out',
        );
        this.#record(permit, true, false);
      },
      this.#probeTimeoutMs,
      { unref: true },
    );
    return permit;
  }

  /** Marks a permit used; false when its outcome was given already (or its probe timed out). */
  #settle(permit: CircuitPermit): boolean {
    const own = permit as Permit;
    if (!own.probe) return true;
    if (own.settled) return false;
    own.settled = true;
    if (own.timer !== undefined) {
      this.#clock.clearTimeout(own.timer);
      own.timer = undefined;
    }
    return true;
  }

  /** Runs `fn` through the breaker alone (the dependency policy composes the steps itself). */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const permit = this.acquire();
    const started = this.#clock.now();
    try {
      const value = await fn();
      this.onSuccess(permit, this.#clock.now() - started);
      return value;
    } catch (error) {
      this.onError(permit, error, this.#clock.now() - started);
      throw error;
    }
  }

  /** Holds the circuit open until reset(). */
  isolate(): void {
    this.#transition('isolated');
  }

  /** Closes the circuit and forgets the recorded outcomes. */
  reset(): void {
    this.#window.reset();
    this.#transition('closed');
  }

  onStateChange(listener: (change: CircuitStateChange) => void): Disposable {
    if (this.#disposed) return { dispose: () => undefined };
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }

  /** `circuit:<dependency>`: fails while the circuit is open or isolated. */
  healthCheck(): HealthCheck {
    return {
      name: `circuit:${this.dependency}`,
      critical: this.#critical,
      check: async () => {
        const state = this.state;
        if (state === 'open') {
          return { ok: false, message: `circuit open, probes in ${Math.ceil(this.remainingCoolDownMs)} ms` };
        }
        if (state === 'isolated') return { ok: false, message: 'circuit isolated' };
        return { ok: true, message: `circuit ${state}` };
      },
    };
  }

  /** Stops the cool-down timer and drops listeners; the breaker can then be garbage collected. */
  dispose(): void {
    this.#disposed = true;
    this.#clearCoolDown();
    this.#listeners.clear();
  }

  #record(permit: CircuitPermit, failed: boolean, slow: boolean): void {
    if (permit.generation !== this.#generation) return;
    if (this.#state === 'closed') {
      if (this.#window.record(failed, slow)) this.#transition('open');
    } else if (this.#state === 'half-open') {
      if (failed || slow) {
        this.#probeFailures++;
        if (this.#probeFailures > this.#probes - this.#successesToClose) this.#transition('open');
      } else {
        this.#probeSuccesses++;
        if (this.#probeSuccesses >= this.#successesToClose) {
          this.#window.reset();
          this.#transition('closed');
        }
      }
    }
  }

  #enterHalfOpen(): void {
    this.#transition('half-open');
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    if (from === to || this.#disposed) return;
    this.#state = to;
    this.#generation++;
    this.#closedPermit = new Permit(this.#generation, false);
    this.#clearCoolDown();
    if (to === 'open') {
      this.#openUntil = this.#clock.now() + this.#coolDownMs;
      this.#coolDownTimer = this.#clock.setTimeout(
        () => {
          this.#coolDownTimer = undefined;
          if (this.#state === 'open') this.#enterHalfOpen();
        },
        this.#coolDownMs,
        { unref: true },
      );
    } else if (to === 'half-open') {
      this.#probesAdmitted = this.#probeSuccesses = this.#probeFailures = 0;
    }
    this.#metrics.setCircuitState(STATE_LABEL[to]);
    this.#metrics.transition(STATE_LABEL[from], STATE_LABEL[to]);
    const event = { dependency: this.dependency, from, to };
    if (to === 'open' || to === 'isolated') this.#logger.warn(event, 'circuit state changed');
    else this.#logger.info(event, 'circuit state changed');
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ dependency: this.dependency, err: error }, 'circuit state listener failed');
      }
    }
  }

  #clearCoolDown(): void {
    if (this.#coolDownTimer !== undefined) {
      this.#clock.clearTimeout(this.#coolDownTimer);
      this.#coolDownTimer = undefined;
    }
  }
}

export function createCircuitBreaker(
  dependency: string,
  options: CircuitBreakerOptions,
  deps: CircuitBreakerDeps,
): CircuitBreaker {
  return new CircuitBreaker(dependency, options, deps);
}
