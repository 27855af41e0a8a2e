/** The load generator as the chaos engine uses it: `@self-healing-shop/loadgen`'s startLoad. */
import type { LoadHandle, LoadOptions, LoadReport } from '@self-healing-shop/loadgen';

export type { LoadHandle, LoadOptions, LoadReport } from '@self-healing-shop/loadgen';

export type StartLoad = (options: LoadOptions) => LoadHandle;

/** The real load generator, loaded on first use. */
export async function loadGenerator(): Promise<StartLoad> {
  const module = (await import('@self-healing-shop/loadgen')) as { startLoad: StartLoad };
  return module.startLoad;
}

/** The load generator's longest run (1 h); segments are renewed when they reach it. */
export const SEGMENT_MAX_MS = 3_600_000;

export interface LoadSegment {
  name: string;
  /** Whether the success objective counts this segment (an outage window does not, in outage experiments). */
  counted: boolean;
  report: LoadReport;
}

/**
 * Load through the whole experiment, cut into named segments (e.g. `baseline`, `fault`, `after`),
 * each with its own report so that latency under a fault is measured apart from the rest.
 */
export class LoadSession {
  readonly #start: StartLoad;
  readonly #options: LoadOptions;
  #current: { name: string; counted: boolean; handle: LoadHandle } | undefined;
  readonly #finished: Array<Promise<LoadSegment>> = [];

  constructor(start: StartLoad, options: LoadOptions) {
    this.#start = start;
    this.#options = options;
  }

  get segmentName(): string | undefined {
    return this.#current?.name;
  }

  /**
   * Ends the current segment (its report completes in the background) and starts the next at once.
   * Resolves with this segment's report once it has ended (an action judges its own segments).
   */
  begin(name: string, counted = true): Promise<LoadReport> {
    const previous = this.#current;
    const current = { name, counted, handle: this.#start({ ...this.#options, durationMs: SEGMENT_MAX_MS }) };
    this.#current = current;
    // The load generator stops by itself after SEGMENT_MAX_MS: a longer segment goes on in a new one.
    current.handle.done.then(
      () => {
        if (this.#current === current) this.begin(`${name} (continued)`, counted);
      },
      () => undefined,
    );
    if (previous) this.#finish(previous);
    return current.handle.done;
  }

  #finish(segment: { name: string; counted: boolean; handle: LoadHandle }): void {
    segment.handle.stop();
    this.#finished.push(
      segment.handle.done.then((report) => ({ name: segment.name, counted: segment.counted, report })),
    );
  }

  /**
   * Resolves once every ended segment's requests in flight have answered (each bounded by the load's
   * request timeout): after it, every order still running belongs to the current segment.
   */
  async settled(): Promise<void> {
    await Promise.all(this.#finished);
  }

  async end(): Promise<LoadSegment[]> {
    const last = this.#current;
    this.#current = undefined;
    if (last) this.#finish(last);
    return Promise.all(this.#finished);
  }
}

/** Totals over segments. Latency quantiles cannot be merged exactly: each is the worst segment's. */
export function mergeReports(reports: readonly LoadReport[]): LoadReport | undefined {
  if (reports.length === 0) return undefined;
  const errorsByKind: Record<string, number> = {};
  for (const r of reports) {
    for (const [kind, n] of Object.entries(r.errorsByKind))
      errorsByKind[kind] = (errorsByKind[kind] ?? 0) + n;
  }
  const sent = reports.reduce((s, r) => s + r.sent, 0);
  const succeeded = reports.reduce((s, r) => s + r.succeeded, 0);
  const failed = reports.reduce((s, r) => s + r.failed, 0);
  const worst = (key: 'p50' | 'p95' | 'p99' | 'max'): number =>
    Math.max(...reports.map((r) => r.latencyMs[key]));
  const durationMs = reports.reduce((s, r) => s + r.durationMs, 0);
  return {
    sent,
    succeeded,
    failed,
    successRatio: sent === 0 ? Number.NaN : succeeded / sent,
    latencyMs: { p50: worst('p50'), p95: worst('p95'), p99: worst('p99'), max: worst('max') },
    errorsByKind,
    durationMs,
    rate: reports[0]!.rate,
    achievedRate: durationMs > 0 ? Math.round((sent / durationMs) * 10_000) / 10 : 0,
    startedAt: reports[0]!.startedAt,
    endedAt: reports[reports.length - 1]!.endedAt,
    products: [...new Set(reports.flatMap((r) => r.products))],
    acknowledged: reports.flatMap((r) => r.acknowledged),
    // Each segment's list is bounded by the load generator; there are few segments.
    failedTraces: reports.flatMap((r) => r.failedTraces),
    failedTracesOmitted: reports.reduce((s, r) => s + r.failedTracesOmitted, 0),
  };
}
