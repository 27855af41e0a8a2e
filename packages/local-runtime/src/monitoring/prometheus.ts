import { findExecutable, httpReady, startChildServer } from '@self-healing-shop/child-server';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { parse, stringify } from 'yaml';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export interface ScrapeTarget {
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PrometheusOptions {
  readonly binary: string;
  readonly port: number;
  /** Storage, generated config and file-SD targets live here (`.data/prometheus`). */
  readonly dataDir: string;
  /** The repository's monitoring/ folder: alert rules come from monitoring/rules/*.yml. */
  readonly monitoringDir: string;
  /** The control API (the runtime's own /metrics). */
  readonly runtimeAddress: string;
  readonly logFile: string;
  readonly logger: Logger;
  readonly scrapeIntervalSeconds?: number;
  /** host:port of the local Alertmanager: firing alerts are sent there. */
  readonly alertmanagerAddress?: string;
}

export interface PrometheusHandle {
  readonly url: string;
  readonly pid: number;
  /** Rewrites the file-SD target list (atomically; Prometheus watches the file). */
  setTargets(targets: readonly ScrapeTarget[]): Promise<void>;
  stop(): Promise<void>;
}

/** The `prometheus` executable on PATH, or undefined. */
export function findPrometheus(pathVariable = process.env['PATH'] ?? ''): Promise<string | undefined> {
  return findExecutable(['prometheus'], pathVariable);
}

/** How to get `prometheus` on PATH without a system service (CI installs it this way too). */
export const PROMETHEUS_INSTALL =
  'download a release from https://prometheus.io/download/ and put its `prometheus` on PATH ' +
  '(or `apt-get install -y --no-install-recommends prometheus`; on a systemd host that package also starts a ' +
  'prometheus.service on :9090, which the runtime then leaves alone and works around)';

export const PROMETHEUS_INSTALL_HINT = `prometheus is not on PATH, so the runtime runs without it: ${PROMETHEUS_INSTALL}`;

async function ruleFiles(monitoringDir: string): Promise<string[]> {
  const dir = path.join(monitoringDir, 'rules');
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((name) => /\.ya?ml$/.test(name) && !/[._-]test\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

type ScrapeConfig = Record<string, unknown> & {
  file_sd_configs?: Array<Record<string, unknown>>;
  static_configs?: Array<{ targets?: string[] } & Record<string, unknown>>;
};

/**
 * The prometheus.yml the runtime runs: monitoring/prometheus-local.yml when it exists, with its paths
 * made absolute and its addresses pointed at this runtime's (so tests and other data folders work);
 * else a generated one: every replica by file-based discovery, the runtime itself, monitoring/rules/*.yml.
 * Either way, alerts go to the local Alertmanager when one runs.
 */
export async function prometheusConfig(
  options: Pick<
    PrometheusOptions,
    'dataDir' | 'monitoringDir' | 'runtimeAddress' | 'port' | 'scrapeIntervalSeconds' | 'alertmanagerAddress'
  >,
): Promise<string> {
  const targets = path.join(path.resolve(options.dataDir), 'targets', '*.json');
  const address = (target: string) =>
    target
      .replace(/^(127\.0\.0\.1|localhost):7070$/, options.runtimeAddress)
      .replace(/^(127\.0\.0\.1|localhost):9090$/, `127.0.0.1:${options.port}`);
  const alerting = options.alertmanagerAddress
    ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanagerAddress] }] }] } }
    : {};
  const localFile = path.join(options.monitoringDir, 'prometheus-local.yml');
  const text = await readFile(localFile, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    const config = parse(text) as { rule_files?: string[]; scrape_configs?: ScrapeConfig[] } & Record<
      string,
      unknown
    >;
    config.rule_files = (config.rule_files ?? []).map((file) => path.resolve(options.monitoringDir, file));
    for (const scrape of config.scrape_configs ?? []) {
      for (const sd of scrape.file_sd_configs ?? []) sd['files'] = [targets];
      for (const group of scrape.static_configs ?? []) group.targets = (group.targets ?? []).map(address);
    }
    return stringify({ ...config, ...alerting });
  }
  const interval = `${options.scrapeIntervalSeconds ?? 5}s`;
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: await ruleFiles(options.monitoringDir),
    scrape_configs: [
      { job_name: 'shop', file_sd_configs: [{ files: [targets], refresh_interval: '5s' }] },
      {
        job_name: 'local-runtime',
        honor_labels: true,
        static_configs: [{ targets: [options.runtimeAddress] }],
      },
    ],
    ...alerting,
  });
}

/** Starts Prometheus on 127.0.0.1:<port> and resolves once /-/ready answers. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  const dataDir = path.resolve(options.dataDir);
  const targetsDir = path.join(dataDir, 'targets');
  await mkdir(targetsDir, { recursive: true });
  const configFile = path.join(dataDir, 'prometheus.yml');
  await writeFile(configFile, await prometheusConfig(options));
  const targetsFile = path.join(targetsDir, 'replicas.json');
  await writeFile(targetsFile, '[]\n');

  const url = `http://127.0.0.1:${options.port}`;
  const server = await startChildServer({
    name: 'prometheus',
    command: options.binary,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dataDir, 'tsdb')}`,
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=127.0.0.1:${options.port}`,
      '--web.enable-lifecycle',
      // Keeps the trace_id exemplars the services put on their latency histograms (OpenMetrics scrape).
      '--enable-feature=exemplar-storage',
    ],
    // POD_NAME marks it as the runtime's: the next `up` stops it if this runtime was killed.
    env: { ...process.env, POD_NAME: 'prometheus' },
    logFile: options.logFile,
    ready: httpReady(`${url}/-/ready`),
    startTimeoutMs: START_TIMEOUT_MS,
    stopTimeoutMs: STOP_TIMEOUT_MS,
  });
  options.logger.info({ url, pid: server.pid }, 'prometheus started');

  let writing = Promise.resolve();
  return {
    url,
    pid: server.pid,
    setTargets(targets) {
      const groups = targets.map((target) => ({ targets: [target.address], labels: target.labels }));
      const temporary = `${targetsFile}.tmp`;
      writing = writing
        .then(() => writeFile(temporary, `${JSON.stringify(groups, null, 1)}\n`))
        .then(() => rename(temporary, targetsFile))
        .catch((error: unknown) => options.logger.warn({ err: error }, 'cannot write prometheus targets'));
      return writing;
    },
    async stop() {
      await writing;
      await server.stop();
      options.logger.info('prometheus stopped');
    },
  };
}
