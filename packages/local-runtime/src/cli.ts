#!/usr/bin/env node
// The local runtime's command line: up, down, status, logs, restart, rollout, events (see README.md).
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_URL, LOCAL_PORTS } from '@self-healing-shop/contracts';
import { RuntimeNotRunningError } from './control-plane/control-client.ts';
import { ManifestError } from './manifests/manifest-error.ts';
import { down } from './cli/down.ts';
import { events } from './cli/events.ts';
import { logs } from './cli/logs.ts';
import { restart } from './cli/restart.ts';
import { parseEnvOptions, rollout, rolloutUndo } from './cli/rollout.ts';
import { status } from './cli/status.ts';
import { DEFAULT_PORTS, up } from './cli/up.ts';
import type { UpOptions } from './cli/up.ts';

const USAGE = `usage: node packages/local-runtime/src/cli.ts <command> [options]

commands:
  up [--foreground] [--k8s-dir k8s/base] [--no-prometheus] [--no-console] [--no-bundle] [--timeout 180]
                          start the platform; returns once every Deployment is ready (the runtime
                          keeps running in the background, log in .data/runtime.log); --foreground
                          stays attached and prints events until Ctrl-C; --no-bundle runs each replica
                          from services/<name>/src/main.ts instead of its bundle (slower to start)
  down                    stop it: replicas drain (preStop, SIGTERM, grace), the console, Prometheus, Alertmanager and PostgreSQL stop; data is kept
  status [--json]         workloads ready/desired and every replica (postgres-0 too): phase, readiness, restarts, age;
                          the alerts firing in Alertmanager
  logs [deployment] [--no-follow] [--lines 10]
                          the replicas' logs, following new replicas as they start
  restart <deployment> [--no-wait]
                          rolling restart, one replica at a time
  rollout <deployment> --env KEY=VALUE ... [--progress-deadline <s>] [--no-wait]
                          a new revision of the Deployment's template (the variables win over what the
                          runtime injects), rolled out within maxSurge / maxUnavailable; when its new
                          replicas make no progress for progressDeadlineSeconds (manifest, default 600)
                          the runtime rolls it back and this exits 1 saying why
  rollout undo <deployment> [--no-wait]
                          back to the previous revision's template
  events [--json]         the runtime's events (started, ready, unready, killed, signalled, exited, replaced, scaled, backoff,
                          rollout-started, progress-deadline-exceeded, rolled-back)

options:
  --data-dir <dir>        where logs, pid file and data live (default .data)
  --control-port <port>   control API (default ${LOCAL_PORTS.control}; status, logs, restart, events use it too)
  --front-port <port>     order front; inventory and notification follow (default ${LOCAL_PORTS.order})
  --postgres-port <port>  embedded PostgreSQL (default ${LOCAL_PORTS.postgres})
  --prometheus-port <port> Prometheus (default ${LOCAL_PORTS.prometheus})
  --alertmanager-port <port> Alertmanager, when installed (default ${LOCAL_PORTS.alertmanager})
  --console-port <port>   the web console (default ${LOCAL_PORTS.console})
  --hpa-interval <s>      how often the HorizontalPodAutoscalers decide (default 15, as Kubernetes)
  environment: LOCAL_RUNTIME_CONTROL_URL (default ${DEFAULT_CONTROL_URL})`;

function usage(message: string): number {
  console.error(`${message}\n\n${USAGE}`);
  return 2;
}

const OPTIONS = {
  foreground: { type: 'boolean', short: 'f', default: false },
  daemon: { type: 'boolean', default: false },
  plan: { type: 'string' },
  'k8s-dir': { type: 'string', default: 'k8s/base' },
  'data-dir': { type: 'string' },
  'no-prometheus': { type: 'boolean', default: false },
  'no-console': { type: 'boolean', default: false },
  'no-bundle': { type: 'boolean', default: false },
  timeout: { type: 'string', default: '180' },
  json: { type: 'boolean', default: false },
  'no-follow': { type: 'boolean', default: false },
  lines: { type: 'string', default: '10' },
  'no-wait': { type: 'boolean', default: false },
  env: { type: 'string', multiple: true },
  'progress-deadline': { type: 'string' },
  'control-port': { type: 'string' },
  'front-port': { type: 'string' },
  'postgres-port': { type: 'string' },
  'prometheus-port': { type: 'string' },
  'alertmanager-port': { type: 'string' },
  'console-port': { type: 'string' },
  'hpa-interval': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function port(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new RangeError(`--${name} must be a TCP port, got ${text}`);
  return n;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number, got ${text}`);
  return n;
}

function upOptions(values: Values): UpOptions {
  return {
    foreground: values.foreground,
    daemon: values.daemon,
    ...(values.plan === undefined ? {} : { planFile: values.plan }),
    k8sDir: values['k8s-dir'],
    dataDir: values['data-dir'],
    prometheus: !values['no-prometheus'],
    console: !values['no-console'],
    bundle: !values['no-bundle'],
    timeoutMs: positive('timeout', values.timeout) * 1000,
    ...(values['hpa-interval'] === undefined
      ? {}
      : { hpaIntervalMs: positive('hpa-interval', values['hpa-interval']) * 1000 }),
    ports: {
      control: port('control-port', values['control-port'], DEFAULT_PORTS.control),
      frontBase: port('front-port', values['front-port'], DEFAULT_PORTS.frontBase),
      postgres: port('postgres-port', values['postgres-port'], DEFAULT_PORTS.postgres),
      prometheus: port('prometheus-port', values['prometheus-port'], DEFAULT_PORTS.prometheus),
      alertmanager: port('alertmanager-port', values['alertmanager-port'], DEFAULT_PORTS.alertmanager),
      console: port('console-port', values['console-port'], DEFAULT_PORTS.console),
    },
  };
}

function rolloutCommand(
  values: Values,
  positionals: string[],
  controlPort: number,
): Promise<number> | number {
  const wait = !values['no-wait'];
  if (positionals[0] === 'undo') {
    if (positionals.length !== 2) return usage('rollout undo takes one Deployment: rollout undo order');
    return rolloutUndo(positionals[1]!, { wait, port: controlPort });
  }
  if (positionals.length !== 1) return usage('rollout takes one Deployment: rollout order --env KEY=VALUE');
  const env = parseEnvOptions(values.env ?? []);
  const deadline = values['progress-deadline'];
  if (Object.keys(env).length === 0 && deadline === undefined)
    return usage('rollout needs a change: --env KEY=VALUE (repeatable) or --progress-deadline <s>');
  let progressDeadlineSeconds: number | undefined;
  if (deadline !== undefined) {
    progressDeadlineSeconds = Number(deadline);
    if (!Number.isInteger(progressDeadlineSeconds) || progressDeadlineSeconds < 1)
      throw new RangeError(`--progress-deadline must be a whole number of seconds, got ${deadline}`);
  }
  return rollout(
    positionals[0]!,
    { env, ...(progressDeadlineSeconds === undefined ? {} : { progressDeadlineSeconds }) },
    { wait, port: controlPort },
  );
}

async function run(command: string | undefined, values: Values, positionals: string[], rest: string[]) {
  const dataDir = values['data-dir'];
  const controlPort = port('control-port', values['control-port'], DEFAULT_PORTS.control);
  switch (command) {
    case 'up':
      if (positionals.length > 0) return usage(`up takes no arguments, got ${positionals.join(' ')}`);
      return up(upOptions(values), rest);
    case 'down':
      return down(dataDir);
    case 'status':
      return status(values.json, controlPort);
    case 'logs':
      if (positionals.length > 1) return usage('logs takes at most one workload');
      return logs({
        deployment: positionals[0],
        follow: !values['no-follow'],
        lines: positive('lines', values.lines),
        dataDir,
        controlPort,
      });
    case 'restart':
      if (positionals.length !== 1) return usage('restart takes one workload: restart order');
      return restart(positionals[0]!, !values['no-wait'], controlPort);
    case 'rollout':
      return rolloutCommand(values, positionals, controlPort);
    case 'events':
      return events(values.json, controlPort);
    case undefined:
      return usage('a command is required');
    default:
      return usage(`unknown command ${command}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  try {
    return await run(command, values, positionals, rest);
  } catch (error) {
    if (error instanceof RangeError) return usage(error.message);
    if (error instanceof RuntimeNotRunningError || error instanceof ManifestError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return 1;
});
