/**
 * The pipelines' rollout guard (issue 14): after `kubectl apply`, watch each Deployment's rollout
 * (rollout-status.ts), then for a window the fast burn-rate alert in Prometheus (burn-rate.ts). A
 * rollout that exceeds its progress deadline is rolled back; a burn-rate alert that fires in the
 * window rolls back every watched Deployment (the deploy ships them together). Either way the reason
 * goes to stdout and to `<reportDir>/rollout-guard.json`, and the exit code is 1. Fail-closed: a guard
 * that cannot read the cluster or Prometheus exits 2 (the build fails, nothing is rolled back on no
 * evidence).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AppsV1Api, V1Deployment } from '@kubernetes/client-node';
import { alertsNamed, type PrometheusAlert } from './burn-rate.ts';
import { undoRollout, type Rollback } from './rollback.ts';
import { REVISION_ANNOTATION, rolloutStatus, type RolloutState } from './rollout-status.ts';

export const GUARD_PASS = 0;
export const GUARD_ROLLED_BACK = 1;
export const GUARD_ERROR = 2;

export interface GuardOptions {
  readonly namespace: string;
  /** The Deployments to watch; empty: every Deployment matching `selector`. */
  readonly deployments: readonly string[];
  readonly selector: string;
  /** How long the burn-rate alert is watched after the rollouts are done (0: not watched). */
  readonly windowMs: number;
  readonly prometheusUrl?: string;
  readonly alert: string;
  readonly pollMs: number;
  /** Beyond the Deployment's own progress deadline, how long to wait for the controller to say so. */
  readonly graceMs: number;
  readonly reportDir: string;
}

export interface GuardDeps {
  readonly apps: AppsV1Api;
  readonly print: (line: string) => void;
  readonly signal: AbortSignal;
  readonly now?: () => number;
}

interface DeploymentOutcome {
  name: string;
  revision: string | null;
  state: RolloutState | 'timed-out';
  message: string;
}

export interface GuardReport {
  verdict: 'passed' | 'rolled-back' | 'error';
  reason: string;
  namespace: string;
  startedAt: string;
  endedAt: string;
  deployments: DeploymentOutcome[];
  burnRate: { alert: string; windowMs: number; checked: boolean; reads: number; firing: PrometheusAlert[] };
  rollbacks: Array<Rollback | { deployment: string; error: string }>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

async function targets(options: GuardOptions, deps: GuardDeps): Promise<string[]> {
  if (options.deployments.length > 0) return [...options.deployments];
  const list = await deps.apps.listNamespacedDeployment({
    namespace: options.namespace,
    labelSelector: options.selector,
  });
  return list.items.map((d) => d.metadata?.name ?? '').filter(Boolean);
}

/** Polls one Deployment until its rollout is done or failed, or its deadline plus grace has passed. */
async function watchRollout(
  name: string,
  options: GuardOptions,
  deps: GuardDeps,
): Promise<DeploymentOutcome> {
  const now = deps.now ?? Date.now;
  const started = now();
  let last = '';
  for (;;) {
    const deployment: V1Deployment = await deps.apps.readNamespacedDeployment({
      name,
      namespace: options.namespace,
    });
    const status = rolloutStatus(deployment);
    const revision = deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? null;
    if (status.message !== last) deps.print(`rollout-guard: ${status.message}`);
    last = status.message;
    if (status.state !== 'waiting') return { name, revision, state: status.state, message: status.message };
    const deadlineMs = (deployment.spec?.progressDeadlineSeconds ?? 600) * 1000 + options.graceMs;
    if (now() - started > deadlineMs || deps.signal.aborted)
      return {
        name,
        revision,
        state: 'timed-out',
        message: `deployment "${name}" did not finish nor report ProgressDeadlineExceeded within ${deadlineMs / 1000}s: ${status.message}`,
      };
    await sleep(options.pollMs, deps.signal);
  }
}

/** Watches the burn-rate alert for the window; resolves with what fired (empty: none). */
async function watchBurnRate(options: GuardOptions, deps: GuardDeps, report: GuardReport): Promise<void> {
  if (options.windowMs <= 0) return;
  if (!options.prometheusUrl) throw new Error('--prometheus-url is required to watch the burn-rate alert');
  const now = deps.now ?? Date.now;
  const end = now() + options.windowMs;
  deps.print(
    `rollout-guard: watching ${options.alert} in ${options.prometheusUrl} for ${options.windowMs / 1000}s`,
  );
  let lastError: Error | undefined;
  while (!deps.signal.aborted) {
    try {
      const firing = (await alertsNamed(options.prometheusUrl, options.alert)).filter(
        (a) => a.state === 'firing',
      );
      report.burnRate.reads += 1;
      report.burnRate.checked = true;
      if (firing.length > 0) {
        report.burnRate.firing = firing;
        return;
      }
    } catch (error) {
      lastError = error as Error;
    }
    if (now() >= end) break;
    await sleep(Math.min(options.pollMs, Math.max(0, end - now())), deps.signal);
  }
  if (!report.burnRate.checked) throw lastError ?? new Error('the burn-rate alert was not read');
}

async function rollBack(
  names: readonly string[],
  options: GuardOptions,
  deps: GuardDeps,
  report: GuardReport,
) {
  for (const name of names) {
    try {
      const done = await undoRollout(deps.apps, options.namespace, name);
      report.rollbacks.push(done);
      deps.print(
        `rollout-guard: rolled back deployment "${name}" from revision ${done.fromRevision} to the template of revision ${done.toRevision} (${done.replicaSet})`,
      );
    } catch (error) {
      report.rollbacks.push({ deployment: name, error: (error as Error).message });
      deps.print(`rollout-guard: could not roll back deployment "${name}": ${(error as Error).message}`);
    }
  }
}

async function writeReport(options: GuardOptions, report: GuardReport): Promise<string> {
  await mkdir(options.reportDir, { recursive: true });
  const file = path.join(options.reportDir, 'rollout-guard.json');
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** Runs the guard; resolves with the exit code (0 passed, 1 rolled back, 2 could not judge). */
export async function runRolloutGuard(options: GuardOptions, deps: GuardDeps): Promise<number> {
  const now = deps.now ?? Date.now;
  const report: GuardReport = {
    verdict: 'passed',
    reason: '',
    namespace: options.namespace,
    startedAt: new Date(now()).toISOString(),
    endedAt: '',
    deployments: [],
    burnRate: { alert: options.alert, windowMs: options.windowMs, checked: false, reads: 0, firing: [] },
    rollbacks: [],
  };
  try {
    const names = await targets(options, deps);
    if (names.length === 0)
      throw new Error(`no Deployment matches ${options.selector} in ${options.namespace}`);
    report.deployments = await Promise.all(names.map((name) => watchRollout(name, options, deps)));
    const failed = report.deployments.filter((d) => d.state !== 'done');
    if (failed.length > 0) {
      report.verdict = 'rolled-back';
      report.reason = failed.map((d) => d.message).join('; ');
      await rollBack(
        failed.map((d) => d.name),
        options,
        deps,
        report,
      );
    } else {
      await watchBurnRate(options, deps, report);
      if (report.burnRate.firing.length > 0) {
        report.verdict = 'rolled-back';
        report.reason = `${options.alert} fired within ${options.windowMs / 1000}s of the rollout`;
        await rollBack(names, options, deps, report);
      } else {
        report.reason = `every rollout done${options.windowMs > 0 ? `, ${options.alert} silent for ${options.windowMs / 1000}s (${report.burnRate.reads} reads)` : ''}`;
      }
    }
  } catch (error) {
    report.verdict = 'error';
    report.reason = (error as Error).message;
  }
  report.endedAt = new Date(now()).toISOString();
  const file = await writeReport(options, report);
  deps.print(`rollout-guard: ${report.verdict.toUpperCase()}: ${report.reason} (report: ${file})`);
  return report.verdict === 'passed'
    ? GUARD_PASS
    : report.verdict === 'rolled-back'
      ? GUARD_ROLLED_BACK
      : GUARD_ERROR;
}
