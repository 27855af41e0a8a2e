/** A named check that the health registry runs with its own timeout. */
export interface HealthCheck {
  readonly name: string;
  /** A failing critical check makes the service unhealthy (not ready); a non-critical one only degraded. */
  readonly critical: boolean;
  /** Per-check timeout; the registry's default applies when absent. */
  readonly timeoutMs?: number;
  /** Resolves (optionally with a message) when healthy; throws or returns `{ ok: false }` when not. */
  check(signal: AbortSignal): Promise<HealthCheckOutcome | void>;
}

export interface HealthCheckOutcome {
  readonly ok: boolean;
  readonly message?: string;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';
