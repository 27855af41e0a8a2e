// Alertmanager beside the local Prometheus (issue 14.3): Debian's `prometheus-alertmanager` (or an upstream
// `alertmanager` on PATH), with the routing KIND uses (monitoring/scripts/alertmanager-config.ts: by
// severity and service, a `default` receiver) and no receivers with credentials: firing alerts are seen
// in its API, the console and `make status`, and sent nowhere.
import { findExecutable, httpReady, startChildServer } from '@self-healing-shop/child-server';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { alertmanagerConfig } from '../../../../monitoring/scripts/alertmanager-config.ts';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Debian names the binary prometheus-alertmanager; upstream releases and Homebrew name it alertmanager. */
const BINARY_NAMES = ['prometheus-alertmanager', 'alertmanager'];

export const ALERTMANAGER_INSTALL =
  '`apt-get install -y --no-install-recommends prometheus-alertmanager` (Debian/Ubuntu) or `brew install alertmanager`';

export const ALERTMANAGER_INSTALL_HINT = `Alertmanager is not installed, so alerts fire in Prometheus only: ${ALERTMANAGER_INSTALL}`;

/** The Alertmanager executable on PATH (either name), or undefined. */
export function findAlertmanager(pathVariable = process.env['PATH'] ?? ''): Promise<string | undefined> {
  return findExecutable(BINARY_NAMES, pathVariable);
}

/**
 * The local alertmanager.yml: KIND's routing without Slack or PagerDuty (no Secret here), so every alert
 * but the Watchdog goes to the `default` receiver. Notifications are grouped sooner than on KIND (5 s
 * instead of 30 s): locally a person watches the console while a chaos run lasts a minute or two.
 */
export function localAlertmanagerConfig(): string {
  const config = alertmanagerConfig({ slack: false, pagerduty: false });
  config.route.group_wait = '5s';
  config.route.group_interval = '1m';
  return stringify(config);
}

export interface AlertmanagerOptions {
  readonly binary: string;
  readonly port: number;
  /** Generated config and notification log / silences (`.data/alertmanager`). */
  readonly dataDir: string;
  readonly logFile: string;
  readonly logger: Logger;
}

export interface AlertmanagerHandle {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts Alertmanager on 127.0.0.1:<port>, without clustering, and resolves once /-/ready answers. */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerHandle> {
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const configFile = path.join(dataDir, 'alertmanager.yml');
  await writeFile(configFile, localAlertmanagerConfig());
  const url = `http://127.0.0.1:${options.port}`;
  const server = await startChildServer({
    name: 'alertmanager',
    command: options.binary,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      `--web.external-url=${url}`,
      // An empty address turns the gossip cluster off (it would listen on :9094 on every interface).
      '--cluster.listen-address=',
    ],
    // POD_NAME marks it as the runtime's: the next `up` stops it if this runtime was killed.
    env: { ...process.env, POD_NAME: 'alertmanager' },
    logFile: options.logFile,
    ready: httpReady(`${url}/-/ready`),
    startTimeoutMs: START_TIMEOUT_MS,
    stopTimeoutMs: STOP_TIMEOUT_MS,
  });
  options.logger.info({ url, pid: server.pid }, 'alertmanager started');
  return {
    url,
    pid: server.pid,
    async stop() {
      await server.stop();
      options.logger.info('alertmanager stopped');
    },
  };
}
