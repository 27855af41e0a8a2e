import type { LoggedEvent } from '../report/report.ts';
import type { Target, TargetEvent } from '../target.ts';

/**
 * The run's timeline: the engine's own steps (printed with their offset) and what the target
 * reported, in one list for report.json; target events are also passed on to the actions' listeners.
 */
export class RunLog {
  readonly events: LoggedEvent[] = [];
  readonly #listeners = new Set<(event: TargetEvent) => void>();
  readonly #refreshing = new Set<string>();
  readonly #print: (line: string) => void;
  readonly #now: () => number;
  readonly #started: number;

  constructor(print: (line: string) => void, now: () => number) {
    this.#print = print;
    this.#now = now;
    this.#started = now();
  }

  get started(): number {
    return this.#started;
  }

  log = (type: string, message: string, data: Record<string, unknown> = {}): void => {
    const at = this.#now();
    this.events.push({ at, time: new Date(at).toISOString(), origin: 'engine', type, message, ...data });
    const offset = `+${((at - this.#started) / 1000).toFixed(1)}s`.padStart(8);
    this.#print(`${offset}  ${message}`);
  };

  dispatch = (event: TargetEvent): void => {
    this.events.push({ time: new Date(event.at).toISOString(), origin: 'target', ...event });
    for (const listener of [...this.#listeners]) listener(event);
  };

  listen = (listener: (event: TargetEvent) => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Reads a workload's status now and dispatches it as a `workload-status` event (one read at a time). */
  refresher(target: Target): (workload: string) => void {
    return (workload) => {
      if (this.#refreshing.has(workload)) return;
      this.#refreshing.add(workload);
      target
        .listWorkloads()
        .then((statuses) => {
          const status = statuses.find((s) => s.name === workload);
          if (status)
            this.dispatch({ at: this.#now(), type: 'workload-status', workload, status, source: 'read' });
        })
        .catch((error: unknown) =>
          this.log('status-read-failed', `cannot read ${workload}: ${(error as Error).message}`),
        )
        .finally(() => this.#refreshing.delete(workload));
    };
  }

  sorted(): LoggedEvent[] {
    return [...this.events].sort((a, b) => a.at - b.at);
  }
}
