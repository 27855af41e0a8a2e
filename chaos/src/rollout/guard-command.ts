/** `chaos rollout-guard`: its own options, parsed here; the guard itself is guard.ts. */
import { parseArgs } from 'node:util';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { NAMESPACE } from '@self-healing-shop/contracts';
import { parseDuration } from '@self-healing-shop/loadgen';
import { DEFAULT_SELECTOR } from '../safety.ts';
import { FAST_BURN_ALERT } from './burn-rate.ts';
import { GUARD_ERROR, runRolloutGuard } from './guard.ts';

export const GUARD_USAGE = `chaos rollout-guard: after a deploy, watch the rollouts and the fast burn-rate alert; roll back on failure.

usage: chaos rollout-guard [options]

options:
  --namespace NAME        where the Deployments are (default ${NAMESPACE})
  --deployment NAME       a Deployment to watch (repeatable; default: every one matching --selector)
  --selector SELECTOR     default ${DEFAULT_SELECTOR}
  --context NAME          kubeconfig context (default: the current one)
  --window DURATION       how long to watch ${FAST_BURN_ALERT} after the rollouts (default 2m; 0: not watched)
  --prometheus-url URL    Prometheus (its HTTP API: GET /api/v1/alerts); needed unless --window 0
  --alert NAME            the alert to watch (default ${FAST_BURN_ALERT})
  --poll DURATION         between reads (default 5s)
  --grace DURATION        beyond a Deployment's progressDeadlineSeconds, wait this long for the
                          controller to report it (default 60s)
  --report-dir DIR        where rollout-guard.json goes (default reports/rollout-guard)

exit codes: 0 rolled out and the alert stayed silent; 1 rolled back (progress deadline exceeded or the
alert fired); 2 could not judge (cluster or Prometheus unreachable, bad options).`;

const OPTIONS = {
  namespace: { type: 'string', default: NAMESPACE },
  deployment: { type: 'string', multiple: true },
  selector: { type: 'string', default: DEFAULT_SELECTOR },
  context: { type: 'string' },
  window: { type: 'string', default: '2m' },
  'prometheus-url': { type: 'string' },
  alert: { type: 'string', default: FAST_BURN_ALERT },
  poll: { type: 'string', default: '5s' },
  grace: { type: 'string', default: '60s' },
  'report-dir': { type: 'string', default: 'reports/rollout-guard' },
  help: { type: 'boolean', default: false },
} as const;

export interface GuardCommandDeps {
  readonly print: (line: string) => void;
  readonly printError: (line: string) => void;
  readonly signal: AbortSignal;
  readonly kubeConfig?: () => KubeConfig;
}

function duration(name: string, text: string): number {
  const ms = text === '0' ? 0 : parseDuration(text);
  if (!Number.isFinite(ms) || ms < 0)
    throw new RangeError(`--${name} must be a duration such as 30s, got ${text}`);
  return ms;
}

export async function rolloutGuardCommand(argv: string[], deps: GuardCommandDeps): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }).values;
    if (values.help) {
      deps.print(GUARD_USAGE);
      return 0;
    }
    const windowMs = duration('window', values.window);
    if (windowMs > 0 && !values['prometheus-url'])
      throw new RangeError('--prometheus-url is required unless --window 0');
    const kc = deps.kubeConfig?.() ?? new KubeConfig();
    if (!deps.kubeConfig) kc.loadFromDefault();
    if (values.context) kc.setCurrentContext(values.context);
    return await runRolloutGuard(
      {
        namespace: values.namespace,
        deployments: values.deployment ?? [],
        selector: values.selector,
        windowMs,
        ...(values['prometheus-url'] ? { prometheusUrl: values['prometheus-url'] } : {}),
        alert: values.alert,
        pollMs: duration('poll', values.poll),
        graceMs: duration('grace', values.grace),
        reportDir: values['report-dir'],
      },
      { apps: kc.makeApiClient(AppsV1Api), print: deps.print, signal: deps.signal },
    );
  } catch (error) {
    deps.printError(`chaos rollout-guard: ${(error as Error).message}\n\n${GUARD_USAGE}`);
    return GUARD_ERROR;
  }
}
