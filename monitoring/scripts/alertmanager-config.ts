// Alertmanager's configuration on KIND, as Helm values of kube-prometheus-stack (`alertmanager.config`),
// written by `k8s/scripts/kind.sh monitoring` next to monitoring/kube-prometheus-stack-values.yaml:
//   node monitoring/scripts/alertmanager-config.ts [--slack] [--pagerduty] > values.yaml
// Routing by severity (critical: PagerDuty and Slack; warning: Slack) and by service (one notification
// per alert and service). The credentials never enter the values: Secret `alertmanager-receivers`
// (namespace monitoring, made by kind.sh from SLACK_WEBHOOK_URL / PAGERDUTY_ROUTING_KEY) is mounted by the
// operator under /etc/alertmanager/secrets/<name>/ (alertmanagerSpec.secrets) and read through
// `api_url_file` / `routing_key_file`. A receiver whose credential was not given is left out, and its
// alerts go to the `default` receiver (visible in Alertmanager's UI and API, sent nowhere).
import { stringify } from 'yaml';

export const RECEIVERS_SECRET = 'alertmanager-receivers';
/** Where prometheus-operator mounts each Secret listed in `alertmanagerSpec.secrets`. */
export const SECRETS_DIR = `/etc/alertmanager/secrets/${RECEIVERS_SECRET}`;
export const SLACK_KEY = 'slack-webhook-url';
export const PAGERDUTY_KEY = 'pagerduty-routing-key';

export interface GivenReceivers {
  readonly slack: boolean;
  readonly pagerduty: boolean;
}

export interface Route {
  receiver: string;
  matchers?: string[];
  continue?: boolean;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}

export interface AlertmanagerConfig {
  global: { resolve_timeout: string };
  route: Route;
  receivers: ({ name: string } & Record<string, unknown>)[];
}

export function alertmanagerConfig(given: GivenReceivers): AlertmanagerConfig {
  const routes: Route[] = [
    // The chart's always-firing heartbeat: proof that the pipeline works, not a page.
    { receiver: 'null', matchers: ['alertname = "Watchdog"'] },
  ];
  const receivers: AlertmanagerConfig['receivers'] = [{ name: 'null' }, { name: 'default' }];
  if (given.pagerduty) {
    routes.push({ receiver: 'pagerduty', matchers: ['severity = "critical"'], continue: true });
    receivers.push({
      name: 'pagerduty',
      pagerduty_configs: [
        {
          routing_key_file: `${SECRETS_DIR}/${PAGERDUTY_KEY}`,
          description: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.service }}',
          send_resolved: true,
        },
      ],
    });
  }
  if (given.slack) {
    routes.push({ receiver: 'slack', matchers: ['severity =~ "critical|warning"'] });
    receivers.push({
      name: 'slack',
      slack_configs: [
        {
          api_url_file: `${SECRETS_DIR}/${SLACK_KEY}`,
          title:
            '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}) on {{ .CommonLabels.service }}',
          text: '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}',
          send_resolved: true,
        },
      ],
    });
  }
  return {
    global: { resolve_timeout: '5m' },
    route: {
      receiver: 'default',
      group_by: ['alertname', 'namespace', 'service'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes,
    },
    receivers,
  };
}

/** The Helm values: the configuration and the Secret the operator mounts for it. */
export function alertmanagerValues(given: GivenReceivers): string {
  return stringify({
    alertmanager: {
      config: alertmanagerConfig(given),
      alertmanagerSpec: { secrets: [RECEIVERS_SECRET] },
    },
  });
}

if (import.meta.main) {
  const args = new Set(process.argv.slice(2));
  for (const arg of args) {
    if (arg !== '--slack' && arg !== '--pagerduty') {
      process.stderr.write(`usage: alertmanager-config.ts [--slack] [--pagerduty] (unknown: ${arg})\n`);
      process.exit(2);
    }
  }
  process.stdout.write(
    alertmanagerValues({ slack: args.has('--slack'), pagerduty: args.has('--pagerduty') }),
  );
}
