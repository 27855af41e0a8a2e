/**
 * The part of the chaos engine's report (chaos/src/report/report.ts, `ChaosReport`, written to
 * report.json) that the console reads, as a structural type. Not `import type` from
 * @self-healing-shop/chaos: the chaos engine will import this package to write report.html, and
 * `ChaosReport` is not exported from its index, so importing it back would make a cycle. Every field
 * the console does not need is optional so an older or partial (aborted) report still renders.
 */

export interface LoadReportLike {
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly successRatio: number | null;
  readonly latencyMs: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly durationMs: number;
  readonly startedAt: string | number;
  readonly endedAt: string | number;
  readonly errorsByKind?: Readonly<Record<string, number>>;
  /** The load generator's failed requests with the trace each started (loadgen `FailedRequest`). */
  readonly failedTraces?: ReadonlyArray<{
    readonly traceId: string;
    readonly kind: string;
    readonly idempotencyKey?: string;
    readonly at?: string;
  }>;
  readonly failedTracesOmitted?: number;
}

/**
 * Optional per-interval samples of the load (not in the report yet: the chaos engine can add them as
 * `load.series`); without them the charts show each load segment as one step.
 */
export interface LoadSampleLike {
  /** Epoch ms at the end of the interval. */
  readonly at: number;
  readonly intervalMs: number;
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly p50Ms?: number | null;
  readonly p95Ms?: number | null;
  readonly p99Ms?: number | null;
}

export interface TimelineLike {
  readonly workload: string;
  readonly kills: ReadonlyArray<{
    readonly replica: string;
    readonly sentAt: number;
    readonly goneAt?: number;
    readonly method?: string;
  }>;
  readonly replacements: ReadonlyArray<{
    readonly replica: string;
    readonly createdAt: number;
    readonly readyAt?: number;
  }>;
  readonly noReadyAt?: number;
  readonly firstReadyAt?: number;
  readonly fullStrengthAt?: number;
  readonly mttrMs?: number;
}

export interface RoundLike {
  readonly round: number;
  readonly action: string;
  readonly workload?: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome: string;
  readonly reason?: string;
  readonly timeline?: TimelineLike;
  readonly figures?: Readonly<Record<string, number | undefined>>;
}

export interface ObjectiveLike {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: string;
  readonly actual: string;
  readonly reason?: string;
  /** The run could not check it (e.g. no Alertmanager): shown as such, neither pass nor fail. */
  readonly notChecked?: boolean;
  /** Further lines (e.g. the violations an objective found). */
  readonly details?: readonly string[];
}

export interface ViolationLike {
  readonly kind: string;
  readonly subject: string;
  readonly detail: string;
}

export interface ChaosReportLike {
  readonly tool?: string;
  readonly experiment: { readonly name: string; readonly description?: string; readonly outage?: boolean };
  readonly seed?: string;
  readonly target?: {
    readonly kind: string;
    readonly description?: string;
    /** Where a person opens a trace (the runtime's console); the default port when absent. */
    readonly traceViewBase?: string;
  };
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs?: number;
  readonly status: string;
  readonly abortReason?: string;
  readonly rounds: readonly RoundLike[];
  readonly mttr?: {
    readonly unit?: string;
    readonly summary?: {
      readonly count?: number;
      readonly p50?: number | null;
      readonly p95?: number | null;
      readonly max?: number | null;
    };
    readonly valuesMs: ReadonlyArray<number | null>;
  };
  readonly kills?: number;
  readonly load?: {
    readonly total?: LoadReportLike;
    readonly counted?: LoadReportLike;
    readonly countedScope?: string;
    readonly segments?: ReadonlyArray<{
      readonly name: string;
      readonly counted: boolean;
      readonly report: LoadReportLike;
    }>;
    readonly series?: readonly LoadSampleLike[];
  };
  readonly verdict: {
    readonly passed: boolean;
    readonly objectives: readonly ObjectiveLike[];
    readonly reasons: readonly string[];
  };
  /** The data invariants checked on the quiet platform after the run (absent with --no-invariants). */
  readonly invariants?: {
    readonly checked: boolean;
    readonly settled?: boolean;
    readonly settleDetail?: string;
    readonly violations?: readonly ViolationLike[];
    readonly error?: string;
    readonly reason?: string;
  };
  /** Violations at the top level (an older report shape); `invariants.violations` wins. */
  readonly violations?: readonly ViolationLike[];
  readonly events?: ReadonlyArray<{
    readonly at: number;
    readonly type: string;
    readonly message?: string;
    readonly origin?: string;
    readonly [key: string]: unknown;
  }>;
}
