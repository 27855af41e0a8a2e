/**
 * Proves the alerting (issue 14): from the start of the action until `within` has passed (and, for
 * silent alerts, at least until the rounds are over), reads the
 * alerts firing in Alertmanager and records every alert of an expected or silent name that was not
 * already firing when the watch began (a baseline read: an alert left over from before the run proves
 * nothing, either way). The verdict gets two objectives from it: expected alerts fired, silent alerts
 * stayed silent. Without a reachable Alertmanager both are "not checked" with the reason.
 */
import { formatDuration } from '@self-healing-shop/loadgen';
import { pause } from '../actions/context.ts';
import type { ExperimentAlerts } from '../experiment.ts';
import type { Objective } from '../verdict.ts';
import type { AlertSource, FiringAlert } from './alert-source.ts';
import type { SilencesResult } from './silences.ts';

export interface SeenAlert {
  name: string;
  fingerprint: string;
  labels: Readonly<Record<string, string>>;
  startsAt: string;
  /** Alertmanager's state when first seen: `active`, or `suppressed` (silenced/inhibited). */
  state: string;
  /** Milliseconds from the start of the watch to the read that first listed it. */
  seenAfterMs: number;
}

export interface AlertWatchResult {
  checked: boolean;
  /** Why not checked (no Alertmanager, unreachable, run interrupted before the window ended). */
  reason?: string;
  source?: string;
  expected: string[];
  silent: string[];
  withinMs: number;
  /** How long the alerts were watched, and how many reads succeeded or failed. */
  watchedMs: number;
  reads: number;
  failedReads: number;
  lastError?: string;
  /** Names of expected/silent alerts already firing when the watch began (not counted). */
  firingBefore: string[];
  /** New alerts of an expected name (first sighting of each fingerprint). */
  fired: SeenAlert[];
  /** New alerts of a silent name: each one breaks the objective. */
  brokeSilence: SeenAlert[];
  /** The silences the run put on its expected alerts (ids, when expired). */
  silenced?: SilencesResult;
}

export interface AlertWatchDeps {
  /** Resolves where the alerts are read; rejects with the reason there is no Alertmanager. */
  source: () => Promise<AlertSource>;
  signal: AbortSignal;
  now: () => number;
  log: (type: string, message: string, data?: Record<string, unknown>) => void;
  /** Between reads; Prometheus evaluates the local rules every 5 s. */
  pollMs?: number;
  /**
   * Settles when the action's rounds are over: silent alerts are watched until then even when the
   * rounds outlast `within` (a 10-round pod-kill in CI). Absent: the window alone.
   */
  actionsEnded?: Promise<unknown>;
}

const DEFAULT_POLL_MS = 2_000;

function nameOf(alert: FiringAlert): string {
  return alert.labels['alertname'] ?? '';
}

function notChecked(
  alerts: ExperimentAlerts,
  reason: string,
  extra: Partial<AlertWatchResult> = {},
): AlertWatchResult {
  return {
    checked: false,
    reason,
    expected: alerts.expected,
    silent: alerts.silent,
    withinMs: alerts.within,
    watchedMs: 0,
    reads: 0,
    failedReads: 0,
    firingBefore: [],
    fired: [],
    brokeSilence: [],
    ...extra,
  };
}

/**
 * Watches until `within` has passed since the start (or every expected alert fired and none must stay
 * silent, or the run is aborted). Call it right before the action's first round.
 */
export async function watchAlerts(alerts: ExperimentAlerts, deps: AlertWatchDeps): Promise<AlertWatchResult> {
  const started = deps.now();
  const deadline = started + alerts.within;
  let source: AlertSource;
  let baseline: FiringAlert[];
  try {
    source = await deps.source();
    baseline = await source.firing();
  } catch (error) {
    const reason = (error as Error).message;
    deps.log('alerts-not-checked', `alerts not checked: ${reason}`);
    return notChecked(alerts, reason);
  }
  const watched = new Set([...alerts.expected, ...alerts.silent]);
  const before = new Set(baseline.map((a) => a.fingerprint));
  const result: AlertWatchResult = {
    checked: true,
    source: source.description,
    expected: alerts.expected,
    silent: alerts.silent,
    withinMs: alerts.within,
    watchedMs: 0,
    reads: 1,
    failedReads: 0,
    firingBefore: [...new Set(baseline.map(nameOf).filter((n) => watched.has(n)))].sort(),
    fired: [],
    brokeSilence: [],
  };
  deps.log('alerts-watch', `watching alerts in ${source.description} for ${formatDuration(alerts.within)}`, {
    expected: alerts.expected,
    silent: alerts.silent,
    firingBefore: result.firingBefore,
  });
  const seen = new Set(before);
  const allExpectedFired = (): boolean =>
    alerts.expected.every((name) =>
      result.fired.some((a) => a.name === name && a.seenAfterMs <= alerts.within),
    );
  let actionsOver = deps.actionsEnded === undefined;
  void deps.actionsEnded?.then(
    () => (actionsOver = true),
    () => (actionsOver = true),
  );
  const pollMs = deps.pollMs ?? DEFAULT_POLL_MS;
  while (!deps.signal.aborted) {
    if (allExpectedFired() && alerts.silent.length === 0 && alerts.expected.length > 0) break;
    const windowOver = deps.now() >= deadline;
    if (windowOver && (alerts.silent.length === 0 || actionsOver)) break;
    await pause(windowOver ? pollMs : Math.min(pollMs, deadline - deps.now()), deps.signal);
    if (deps.signal.aborted) break;
    let firing: FiringAlert[];
    try {
      firing = await source.firing();
      result.reads += 1;
    } catch (error) {
      result.failedReads += 1;
      result.lastError = (error as Error).message;
      continue;
    }
    recordSightings(firing, { alerts, watched, seen, result, sinceMs: deps.now() - started, log: deps.log });
  }
  result.watchedMs = deps.now() - started;
  if (deps.signal.aborted && deps.now() < deadline && !allExpectedFired()) {
    return { ...result, checked: false, reason: 'the run was interrupted before the alerts window ended' };
  }
  return result;
}

/** Records each watched alert firing for the first time: fired when expected, broke silence when not. */
function recordSightings(
  firing: readonly FiringAlert[],
  watch: {
    readonly alerts: ExperimentAlerts;
    readonly watched: ReadonlySet<string>;
    readonly seen: Set<string>;
    readonly result: AlertWatchResult;
    readonly sinceMs: number;
    readonly log: AlertWatchDeps['log'];
  },
): void {
  for (const alert of firing) {
    const name = nameOf(alert);
    if (watch.seen.has(alert.fingerprint) || !watch.watched.has(name)) continue;
    watch.seen.add(alert.fingerprint);
    const sighting: SeenAlert = {
      name,
      fingerprint: alert.fingerprint,
      labels: alert.labels,
      startsAt: alert.startsAt,
      state: alert.status?.state ?? 'unknown',
      seenAfterMs: watch.sinceMs,
    };
    const silent = watch.alerts.silent.includes(name);
    (silent ? watch.result.brokeSilence : watch.result.fired).push(sighting);
    watch.log(
      silent ? 'alert-broke-silence' : 'alert-fired',
      `alert ${name} firing (${describeLabels(alert.labels)}) after ${formatDuration(sighting.seenAfterMs)}` +
        (silent ? ': it must stay silent' : ''),
      { alert: sighting },
    );
  }
}

/** `namespace=shop service=order` without the alert's name and severity. */
export function describeLabels(labels: Readonly<Record<string, string>>): string {
  return (
    Object.entries(labels)
      .filter(([k]) => k !== 'alertname')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || 'no labels'
  );
}

/** The report's lines on the run's silences: `silence <id> on <alertname>, expired at <time>`. */
function silenceLines(result: SilencesResult | undefined): string[] {
  if (!result) return [];
  const lines = result.silences.map(
    (s) =>
      `silence ${s.id} on ${s.alertname}, ${s.expiredAt ? `expired at ${s.expiredAt}` : `not expired (${s.expireError ?? 'run interrupted'}), ends at ${s.endsAt}`}`,
  );
  return result.notCreated ? [...lines, `not silenced: ${result.notCreated}`] : lines;
}

const sighting = (a: SeenAlert): string =>
  `${a.name} {${describeLabels(a.labels)}} ${a.state} after ${formatDuration(a.seenAfterMs)} (startsAt ${a.startsAt})`;

/**
 * The verdict's objectives. Not checked (no Alertmanager): reported as such, neither passed nor, unless
 * `required` (--require-alerts), broken.
 */
export function alertObjectives(result: AlertWatchResult, required: boolean): Objective[] {
  const within = formatDuration(result.withinMs);
  const objectives: Objective[] = [];
  const lists = [
    {
      names: result.expected,
      name: 'expected alerts fired',
      expected: `${result.expected.join(', ')} fire within ${within}`,
    },
    {
      names: result.silent,
      name: 'silent alerts stayed silent',
      expected: `${result.silent.join(', ')} do not fire within ${within}`,
    },
  ].filter((l) => l.names.length > 0);
  if (!result.checked) {
    const reason = `alerts not checked: ${result.reason ?? 'unknown'}`;
    return lists.map((l) => ({
      name: l.name,
      passed: false,
      expected: l.expected,
      actual: 'not checked',
      reason: required ? `${reason} (--require-alerts)` : reason,
      ...(required ? {} : { notChecked: true }),
    }));
  }
  const reads = `${result.reads} reads of ${result.source}${result.failedReads ? `, ${result.failedReads} failed (${result.lastError})` : ''}`;
  const before = result.firingBefore.length
    ? `; already firing before, not counted: ${result.firingBefore.join(', ')}`
    : '';
  if (result.expected.length > 0) {
    const inTime = (a: SeenAlert): boolean => a.seenAfterMs <= result.withinMs;
    const lateness = (n: string): string => {
      const late = result.fired.find((a) => a.name === n);
      return late ? `${n} (fired only after ${formatDuration(late.seenAfterMs)})` : n;
    };
    const missing = result.expected.filter((n) => !result.fired.some((a) => a.name === n && inTime(a)));
    const firedNames = result.expected.filter((n) => !missing.includes(n));
    const first = (n: string): string =>
      `${n} after ${formatDuration(Math.min(...result.fired.filter((a) => a.name === n && inTime(a)).map((a) => a.seenAfterMs)))}`;
    objectives.push({
      name: 'expected alerts fired',
      passed: missing.length === 0,
      expected: lists[0].expected,
      actual: `${firedNames.length ? `fired: ${firedNames.map(first).join(', ')}` : 'none fired'}${missing.length && firedNames.length ? `; not fired: ${missing.join(', ')}` : ''} (${reads}${before})`,
      ...(missing.length
        ? { reason: `${missing.map(lateness).join(', ')} did not fire within ${within} of the action` }
        : {}),
      ...(result.fired.length || result.silenced
        ? { details: [...result.fired.map(sighting), ...silenceLines(result.silenced)] }
        : {}),
    });
  }
  if (result.silent.length > 0) {
    const broke = [...new Set(result.brokeSilence.map((a) => a.name))];
    objectives.push({
      name: 'silent alerts stayed silent',
      passed: broke.length === 0,
      expected: lists[lists.length - 1].expected,
      actual: `${broke.length ? `fired: ${broke.join(', ')}` : `none fired over ${formatDuration(result.watchedMs)}`} (${reads}${before})`,
      ...(broke.length
        ? { reason: `${broke.join(', ')} fired although the experiment must leave it silent` }
        : {}),
      ...(result.brokeSilence.length ? { details: result.brokeSilence.map(sighting) } : {}),
    });
  }
  return objectives;
}
