import type { Experiment } from '../experiment.ts';
import type { LoadSession } from '../load.ts';
import type { Random } from '../random.ts';
import type { RoundResult } from '../report/report.ts';
import type { Target, TargetEvent } from '../target.ts';
import type { Objective } from '../verdict.ts';

export interface RunSettings {
  rounds: number;
  intervalMs: number;
  mttrSloMs: number;
  minSuccess: number;
  loadRate: number;
  recoveryTimeoutMs: number;
  url: string;
  notificationUrl: string;
  evict: boolean;
  /** Deployment chosen with --workload (overrides the experiment's). */
  workload?: string;
}

/** What an action gets to do its work and to say what it did. */
export interface ActionContext {
  experiment: Experiment;
  settings: RunSettings;
  target: Target;
  random: Random;
  load: LoadSession;
  signal: AbortSignal;
  now: () => number;
  log: (type: string, message: string, data?: Record<string, unknown>) => void;
  /** Listens to the target's events until the returned function is called. */
  listen: (listener: (event: TargetEvent) => void) => () => void;
  /** Reads the Deployment statuses now and feeds them to listeners as `workload-status` events. */
  refreshStatus: (workload: string) => void;
  /** Objectives an action adds to the verdict (e.g. confirmations delivered). */
  addObjective: (objective: Objective) => void;
}

export type Action = (ctx: ActionContext, round: number) => Promise<RoundResult>;

/** A pause that ends early on abort (the pacing between rounds or a fault's planned duration). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
