import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { HealthCheck, HealthStatus } from './health-check.ts';
import { perRegistry } from '../metrics/metrics.ts';

export interface HealthCheckResult {
  readonly name: string;
  readonly status: 'healthy' | 'unhealthy';
  readonly critical: boolean;
  readonly message?: string;
  readonly durationMs: number;
}

export interface HealthReport {
  readonly status: HealthStatus;
  readonly checks: HealthCheckResult[];
}

export interface ReadinessReport extends HealthReport {
  /** False while shutting down or when a critical check fails; a degraded service stays ready. */
  readonly ready: boolean;
}

export interface HealthRegistryOptions {
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Applies to checks that set no timeout of their own. */
  readonly defaultTimeoutMs?: number;
}

const statusGauge = perRegistry(
  (registry) =>
    new Gauge<'check' | 'critical'>({
      name: 'health_check_status',
      help: 'Result of the last run of each health check (1 ok, 0 failing).',
      labelNames: ['check', 'critical'],
      registers: [registry],
    }),
);

/**
 * Named checks, each with its own timeout, aggregated into healthy / degraded (a non-critical check
 * failing) / unhealthy (a critical one failing). Liveness never runs checks: it only proves the
 * event loop answers. Concurrent readiness probes share one run of the checks.
 */
export class HealthRegistry {
  readonly #checks = new Map<string, HealthCheck>();
  readonly #logger: Logger;
  readonly #gauge: Gauge<'check' | 'critical'> | undefined;
  readonly #defaultTimeoutMs: number;
  readonly #lastStatus = new Map<string, HealthCheckResult['status']>();
  #shuttingDown = false;
  #inFlight: Promise<HealthReport> | undefined;

  constructor(options: HealthRegistryOptions) {
    this.#logger = options.logger;
    this.#gauge = options.registry ? statusGauge(options.registry) : undefined;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 1000;
  }

  /** Adds a check; returns a function that removes it. */
  register(check: HealthCheck): () => void {
    if (this.#checks.has(check.name)) throw new Error(`health check "${check.name}" is registered already`);
    this.#checks.set(check.name, check);
    return () => {
      this.#checks.delete(check.name);
      this.#lastStatus.delete(check.name);
    };
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Readiness turns false at once and stays so: called when shutdown begins. */
  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  liveness(): HealthReport {
    return { status: 'healthy', checks: [] };
  }

  async readiness(): Promise<ReadinessReport> {
    const report = await this.check();
    if (this.#shuttingDown) {
      return {
        ready: false,
        status: 'unhealthy',
        checks: [
          ...report.checks,
          { name: 'shutdown', status: 'unhealthy', critical: true, message: 'shutting down', durationMs: 0 },
        ],
      };
    }
    return { ...report, ready: report.status !== 'unhealthy' };
  }

  /** Runs every check (sharing a run already under way) and aggregates the results. */
  check(): Promise<HealthReport> {
    this.#inFlight ??= this.#runAll().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #runAll(): Promise<HealthReport> {
    const checks = await Promise.all([...this.#checks.values()].map((check) => this.#runOne(check)));
    const failing = checks.filter((c) => c.status === 'unhealthy');
    const status: HealthStatus = failing.some((c) => c.critical)
      ? 'unhealthy'
      : failing.length > 0
        ? 'degraded'
        : 'healthy';
    return { status, checks };
  }

  async #runOne(check: HealthCheck): Promise<HealthCheckResult> {
    const timeoutMs = check.timeoutMs ?? this.#defaultTimeoutMs;
    const controller = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let result: HealthCheckResult;
    try {
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Settle the race first: a check may resolve synchronously on abort.
          reject(new Error(`timed out after ${timeoutMs} ms`));
          controller.abort();
        }, timeoutMs);
      });
      const outcome = await Promise.race([check.check(controller.signal), timedOut]);
      const ok = outcome ? outcome.ok : true;
      result = {
        name: check.name,
        status: ok ? 'healthy' : 'unhealthy',
        critical: check.critical,
        ...(outcome?.message ? { message: outcome.message } : {}),
        durationMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      result = {
        name: check.name,
        status: 'unhealthy',
        critical: check.critical,
        message: error instanceof Error ? error.message : String(error),
        durationMs: Math.round(performance.now() - started),
      };
    } finally {
      clearTimeout(timer);
    }
    this.#record(result);
    return result;
  }

  #record(result: HealthCheckResult): void {
    this.#gauge?.set(
      { check: result.name, critical: String(result.critical) },
      result.status === 'healthy' ? 1 : 0,
    );
    const previous = this.#lastStatus.get(result.name);
    if (previous !== result.status) {
      this.#lastStatus.set(result.name, result.status);
      if (previous !== undefined || result.status === 'unhealthy') {
        const log = result.status === 'healthy' ? this.#logger.info : this.#logger.warn;
        log.call(
          this.#logger,
          {
            check: result.name,
            critical: result.critical,
            from: previous ?? 'unknown',
            to: result.status,
            message: result.message,
          },
          'health check changed',
        );
      }
    }
  }
}
