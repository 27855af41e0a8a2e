/**
 * `chaos verify --target local`: the local runtime's equivalents of the KIND checks, read from its
 * control API (`GET /workloads`, `GET /status`) and from the Prometheus, Alertmanager and console it
 * started.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { RuntimeInfo } from '@self-healing-shop/contracts';
import { parse } from 'yaml';
import type { Target } from '../target.ts';
import { fail, pass, settle, skip, type Check } from './check.ts';
import { requestJson, statusOf } from './http.ts';
import { killRound, type KillRoundOptions } from './kill-round.ts';
import { orderRoundTrip } from './order-round-trip.ts';
import { activeTargets, judgeRules, judgeTargets, prometheusAt, ruleGroups } from './prometheus.ts';
import { judgeWorkloads } from './workloads.ts';

/** The local runtime's Prometheus configuration: its `rule_files` are the groups that must be loaded. */
export const LOCAL_PROMETHEUS_CONFIG = resolve(
  import.meta.dirname,
  '../../../monitoring/prometheus-local.yml',
);

/** The jobs of prometheus-local.yml; `shop` scrapes every replica of the three services. */
const SERVICES = ['order', 'inventory', 'notification'] as const;

export async function localRuleGroups(config = LOCAL_PROMETHEUS_CONFIG): Promise<string[]> {
  const { rule_files: files = [] } = parse(await readFile(config, 'utf8')) as { rule_files?: string[] };
  const names: string[] = [];
  for (const file of files) {
    const { groups = [] } = parse(await readFile(resolve(dirname(config), file), 'utf8')) as {
      groups?: Array<{ name: string }>;
    };
    names.push(...groups.map((g) => g.name));
  }
  return names;
}

export interface LocalChecksOptions {
  target: Target;
  controlUrl: string;
  orderUrl: string;
  waitMs: number;
  /** The kill round, or undefined with --no-kill. */
  kill?: Omit<KillRoundOptions, 'target'>;
}

/** What the local checks share: the options, the runtime's status (read once) and its Prometheus. */
interface LocalContext {
  readonly options: LocalChecksOptions;
  readonly status: () => Promise<RuntimeInfo>;
  readonly prometheus: () => Promise<{ api: ReturnType<typeof prometheusAt>; url: string } | undefined>;
}

const NO_PROMETHEUS =
  'the runtime runs without Prometheus (started with --no-prometheus, or no prometheus binary): ' +
  'bash k8s/scripts/install-prometheus.sh, then make down && make up';

export function localChecks(options: LocalChecksOptions): Check[] {
  let info: Promise<RuntimeInfo> | undefined;
  const status = () =>
    (info ??= requestJson<RuntimeInfo>('the runtime control API', `${options.controlUrl}/status`));
  const prometheus = async () => {
    const url = (await status()).prometheusUrl;
    return url ? { api: prometheusAt(url), url } : undefined;
  };
  const context: LocalContext = { options, status, prometheus };
  return [
    workloadsCheck(context),
    prometheusTargetsCheck(context),
    prometheusRulesCheck(context),
    alertmanagerCheck(context),
    consoleCheck(context),
    {
      name: 'order round trip',
      next: 'make status, make logs SERVICE=order',
      run: () => orderRoundTrip(options.target, options.orderUrl, 'make status, make logs SERVICE=order'),
    },
    {
      name: 'pod-kill round',
      next: 'make status; make chaos shows the full run',
      run: async () =>
        options.kill
          ? killRound(
              { ...options.kill, target: options.target },
              'make status; make chaos EXPERIMENT=pod-kill shows the full run',
            )
          : skip('not run (--no-kill)'),
    },
  ];
}

function workloadsCheck({ options }: LocalContext): Check {
  return {
    name: 'workloads',
    next: `is the runtime up? make up (control API ${options.controlUrl})`,
    run: () =>
      settle(
        async () =>
          judgeWorkloads(
            await options.target.listWorkloads(),
            (lagging) =>
              `make status shows the replicas of ${lagging.join(', ') || 'each workload'}; make logs SERVICE=<name> shows why`,
          ),
        options.waitMs,
      ),
  };
}

function prometheusTargetsCheck({ options, prometheus }: LocalContext): Check {
  return {
    name: 'prometheus targets',
    next: NO_PROMETHEUS,
    run: async () => {
      const found = await prometheus();
      if (!found) return fail('no Prometheus in GET /status', NO_PROMETHEUS);
      const { api, url } = found;
      const next = `open ${url}/targets for each target's last error; make status, make logs SERVICE=<name>`;
      return settle(
        async () =>
          judgeTargets(
            await activeTargets(api),
            [
              { name: 'shop', matches: (t) => t.labels.job === 'shop', services: SERVICES },
              { name: 'local-runtime', matches: (t) => t.labels.job === 'local-runtime' },
            ],
            next,
          ),
        options.waitMs,
      );
    },
  };
}

function prometheusRulesCheck({ options, prometheus }: LocalContext): Check {
  return {
    name: 'prometheus rules',
    next: NO_PROMETHEUS,
    run: async () => {
      const found = await prometheus();
      if (!found) return fail('no Prometheus in GET /status', NO_PROMETHEUS);
      const expected = await localRuleGroups();
      const next = `promtool check config ${LOCAL_PROMETHEUS_CONFIG}; the runtime's log (.data/runtime.log) shows Prometheus' errors`;
      return settle(async () => judgeRules(await ruleGroups(found.api), expected, next), options.waitMs);
    },
  };
}

function alertmanagerCheck({ status }: LocalContext): Check {
  return {
    name: 'alertmanager',
    next: 'make status; the runtime log (.data/runtime.log) shows why Alertmanager stopped',
    run: async () => {
      const url = (await status()).alertmanagerUrl;
      if (!url)
        return skip('not installed (optional; the runtime starts it when the alertmanager binary is found)');
      const ready = await statusOf('Alertmanager', `${url.replace(/\/+$/, '')}/-/ready`);
      return ready.status === 200
        ? pass(`ready at ${url}`)
        : fail(
            `${url}/-/ready answered ${ready.status}`,
            'the runtime log (.data/runtime.log) shows why Alertmanager is not ready',
          );
    },
  };
}

function consoleCheck({ status }: LocalContext): Check {
  return {
    name: 'console',
    next: 'make down && make up (the console starts with the runtime unless --no-console)',
    run: async () => {
      const url = (await status()).consoleUrl;
      if (!url) return skip('the runtime runs without the console (--no-console)');
      const answer = await statusOf('the console', url);
      return answer.status === 200 && answer.type.includes('text/html')
        ? pass(`answers at ${url}`)
        : fail(
            `${url} answered ${answer.status} ${answer.type}`,
            "the runtime log (.data/runtime.log) shows the console's errors",
          );
    },
  };
}
