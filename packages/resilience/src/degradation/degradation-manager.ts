import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { RESILIENCE_SPAN_EVENTS } from '@self-healing-shop/contracts';
import { perRegistry } from '../metrics/metrics.ts';
import { spanEvent } from '../metrics/span-events.ts';

/** From least to most degraded; the index is the value of the `degradation_level` gauge. */
export const DEGRADATION_LEVELS = ['normal', 'degraded', 'minimal', 'emergency'] as const;
export type DegradationLevel = (typeof DEGRADATION_LEVELS)[number];

/**
 * Highest feature priority still enabled at each level: priority 1 (essential) stays on until
 * emergency, priority 2 until minimal, priority 3 and above only at normal.
 */
const MAX_ENABLED_PRIORITY: Readonly<Record<DegradationLevel, number>> = {
  normal: Number.POSITIVE_INFINITY,
  degraded: 2,
  minimal: 1,
  emergency: 0,
};

export interface DegradableFeature {
  readonly name: string;
  /** Integer >= 1; 1 is essential, higher numbers are shed first. */
  readonly priority: number;
}

/** A condition the caller reports (a circuit, a health check) and the level it causes while failing. */
export interface DegradationSignal {
  readonly name: string;
  readonly whenFailing: DegradationLevel;
}

/** Computes the automatic level from the signals failing now (sorted by name); the default takes the worst `whenFailing`. */
export type DegradationRule = (failing: readonly DegradationSignal[]) => DegradationLevel;

export interface DegradationManagerOptions {
  readonly service: string;
  readonly features: readonly DegradableFeature[];
  readonly signals?: readonly DegradationSignal[];
  readonly rule?: DegradationRule;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface DegradationChange {
  readonly from: DegradationLevel;
  readonly to: DegradationLevel;
  readonly reason: string;
}

export interface DegradationSnapshot {
  readonly service: string;
  /** The effective level: the override when set, else the automatic one. */
  readonly level: DegradationLevel;
  readonly automaticLevel: DegradationLevel;
  readonly override: DegradationLevel | null;
  readonly signals: ReadonlyArray<{
    readonly name: string;
    readonly ok: boolean;
    readonly whenFailing: DegradationLevel;
  }>;
  readonly features: ReadonlyArray<{
    readonly name: string;
    readonly priority: number;
    readonly enabled: boolean;
  }>;
}

export function degradationLevelValue(level: DegradationLevel): number {
  return DEGRADATION_LEVELS.indexOf(level);
}

export function isDegradationLevel(value: unknown): value is DegradationLevel {
  return typeof value === 'string' && (DEGRADATION_LEVELS as readonly string[]).includes(value);
}

/** The default rule: the worst level any failing signal causes. */
export const worstFailingSignal: DegradationRule = (failing) =>
  failing.reduce<DegradationLevel>(
    (worst, signal) =>
      degradationLevelValue(signal.whenFailing) > degradationLevelValue(worst) ? signal.whenFailing : worst,
    'normal',
  );

interface DegradationGauges {
  readonly level: Gauge<'service'>;
  readonly feature: Gauge<'service' | 'feature'>;
}

const degradationGauges = perRegistry((registry): DegradationGauges => ({
  level: new Gauge({
    name: 'degradation_level',
    help: 'Effective degradation level (0 normal, 1 degraded, 2 minimal, 3 emergency).',
    labelNames: ['service'],
    registers: [registry],
  }),
  feature: new Gauge({
    name: 'feature_enabled',
    help: 'Whether a degradable feature is enabled at the current level (1 on, 0 shed).',
    labelNames: ['service', 'feature'],
    registers: [registry],
  }),
}));

/**
 * Chooses a degradation level from signals the caller reports (circuit states, health checks) and
 * sheds features by priority. A manual override wins over the automatic level until it is cleared.
 * Synchronous and deterministic: the level is recomputed on every report, never on a timer.
 */
export class DegradationManager {
  readonly service: string;
  readonly #features: ReadonlyMap<string, DegradableFeature>;
  readonly #signals: ReadonlyMap<string, DegradationSignal>;
  readonly #failing = new Set<string>();
  readonly #rule: DegradationRule;
  readonly #logger: Logger;
  readonly #gauges: DegradationGauges;
  readonly #listeners = new Set<(change: DegradationChange) => void>();
  #automatic: DegradationLevel = 'normal';
  #override: DegradationLevel | null = null;
  #level: DegradationLevel = 'normal';

  constructor(options: DegradationManagerOptions) {
    this.service = options.service;
    this.#features = indexByName('feature', options.features);
    for (const feature of options.features) {
      if (!Number.isInteger(feature.priority) || feature.priority < 1) {
        throw new TypeError(
          `feature "${feature.name}": priority must be an integer >= 1, got ${feature.priority}`,
        );
      }
    }
    this.#signals = indexByName('signal', options.signals ?? []);
    for (const signal of options.signals ?? []) {
      if (!isDegradationLevel(signal.whenFailing)) {
        throw new TypeError(
          `signal "${signal.name}": whenFailing must be one of ${DEGRADATION_LEVELS.join(', ')}, got ${String(signal.whenFailing)}`,
        );
      }
    }
    this.#rule = options.rule ?? worstFailingSignal;
    this.#logger = options.logger;
    this.#gauges = degradationGauges(options.registry);
    this.#publish();
  }

  /** The effective level. */
  get level(): DegradationLevel {
    return this.#level;
  }

  get override(): DegradationLevel | null {
    return this.#override;
  }

  /** Throws for a feature that was not declared, so a typo cannot silently disable one. */
  isEnabled(feature: string): boolean {
    const declared = this.#features.get(feature);
    if (!declared)
      throw new Error(`unknown feature "${feature}" (declared: ${[...this.#features.keys()].join(', ')})`);
    return declared.priority <= MAX_ENABLED_PRIORITY[this.#level];
  }

  /** Reports one signal, e.g. `setSignal('notification', state === 'closed')` on a circuit state change. */
  setSignal(name: string, ok: boolean): void {
    this.setSignals({ [name]: ok });
  }

  /** Reports several signals at once, so that they cause at most one level change. */
  setSignals(states: Readonly<Record<string, boolean>>): void {
    const entries = Object.entries(states);
    // Validate every name first so that a bad report changes nothing.
    const unknown = entries.find(([name]) => !this.#signals.has(name));
    if (unknown) {
      throw new Error(`unknown signal "${unknown[0]}" (declared: ${[...this.#signals.keys()].join(', ')})`);
    }
    const changed: string[] = [];
    for (const [name, ok] of entries) {
      if (ok === !this.#failing.has(name)) continue;
      if (ok) this.#failing.delete(name);
      else this.#failing.add(name);
      changed.push(`${name} ${ok ? 'ok' : 'failing'}`);
    }
    if (changed.length === 0) return;
    const failing = [...this.#failing].sort().map((name) => this.#signals.get(name) as DegradationSignal);
    const automatic = this.#rule(failing);
    if (!isDegradationLevel(automatic)) throw new TypeError(`degradation rule returned ${String(automatic)}`);
    this.#automatic = automatic;
    this.#apply(`signal ${changed.join(', ')}`);
  }

  /** Forces a level (an operator's decision) until `setOverride(null)` returns to the automatic one. */
  setOverride(level: DegradationLevel | null): void {
    if (level !== null && !isDegradationLevel(level)) {
      throw new TypeError(
        `override must be one of ${DEGRADATION_LEVELS.join(', ')} or null, got ${String(level)}`,
      );
    }
    if (level === this.#override) return;
    this.#override = level;
    this.#apply(level === null ? 'override cleared' : `override ${level}`);
  }

  /** Called after every change of the effective level (never when it stays the same). */
  onChange(listener: (change: DegradationChange) => void): { dispose(): void } {
    this.#listeners.add(listener);
    return { dispose: () => void this.#listeners.delete(listener) };
  }

  snapshot(): DegradationSnapshot {
    return {
      service: this.service,
      level: this.#level,
      automaticLevel: this.#automatic,
      override: this.#override,
      signals: [...this.#signals.values()].map((s) => ({
        name: s.name,
        ok: !this.#failing.has(s.name),
        whenFailing: s.whenFailing,
      })),
      features: [...this.#features.values()].map((f) => ({
        name: f.name,
        priority: f.priority,
        enabled: this.isEnabled(f.name),
      })),
    };
  }

  #apply(reason: string): void {
    const from = this.#level;
    const to = this.#override ?? this.#automatic;
    if (to === from) return;
    this.#level = to;
    this.#publish();
    this.#logger.warn({ service: this.service, from, to, reason }, 'degradation level changed');
    // On the span of the request or delivery whose outcome changed the level, if any.
    spanEvent(RESILIENCE_SPAN_EVENTS.degraded, undefined, {
      'shop.service': this.service,
      'shop.degradation.from': from,
      'shop.degradation.to': to,
      'shop.degradation.reason': reason,
    });
    const change: DegradationChange = { from, to, reason };
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.#logger.error({ service: this.service, err: error }, 'degradation change listener failed');
      }
    }
  }

  #publish(): void {
    this.#gauges.level.set({ service: this.service }, degradationLevelValue(this.#level));
    for (const feature of this.#features.keys()) {
      this.#gauges.feature.set({ service: this.service, feature }, this.isEnabled(feature) ? 1 : 0);
    }
  }
}

function indexByName<T extends { readonly name: string }>(
  what: string,
  items: readonly T[],
): ReadonlyMap<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    if (map.has(item.name)) throw new TypeError(`${what} "${item.name}" is declared twice`);
    map.set(item.name, item);
  }
  return map;
}
