import type { RolloutRequest, RolloutView, RuntimeEvent } from '@self-healing-shop/contracts';
import { ControlClient, RuntimeNotRunningError } from '../control-plane/control-client.ts';
import { belongsTo } from '../supervision/names.ts';
import { eventLine } from './format.ts';
import { controlUrl } from './paths.ts';

/** Parses `--env KEY=VALUE` options; a malformed one is a usage error (RangeError). */
export function parseEnvOptions(options: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const option of options) {
    const at = option.indexOf('=');
    const key = at > 0 ? option.slice(0, at) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new RangeError(`--env must be KEY=VALUE with KEY an environment variable name, got ${option}`);
    env[key] = option.slice(at + 1);
  }
  return env;
}

type Outcome = { ok: true } | { ok: false; why: string };

/**
 * Follows a rollout until every replica of the Deployment is of the new revision and ready (0), or
 * the runtime rolls it back (1, with the reason). The runtime owns the deadline; this only watches.
 * The runtime's events are replayed from the start and shown from `start` (the event that began
 * this revision) on, so none is missed between the request and the subscription.
 */
async function follow(
  client: ControlClient,
  view: RolloutView,
  startedAt: number,
  start: (event: RuntimeEvent) => boolean,
): Promise<Outcome> {
  const name = view.deployment;
  const tty = process.stdout.isTTY === true;
  const abort = new AbortController();
  const failures: RuntimeEvent[] = [];
  let started = false;
  const mine = (event: RuntimeEvent) =>
    event.replica ? belongsTo(event.replica, name) : event.service === name;
  const watching = (async () => {
    for await (const event of client.events({ after: 0, signal: abort.signal })) {
      if (!mine(event)) continue;
      if (!started) {
        started = start(event);
        if (!started) continue;
      } else if (event.type === 'progress-deadline-exceeded' || event.type === 'rolled-back') {
        failures.push(event);
      }
      console.log(eventLine(event, tty));
    }
  })();
  try {
    for (;;) {
      if (failures.some((e) => e.type === 'rolled-back')) {
        return { ok: false, why: failures.map((e) => `${e.type}: ${e.reason ?? ''}`).join('\n') };
      }
      const deployment = (await client.workloads()).find((d) => d.name === name);
      const replicas = (await client.replicas()).filter(
        (r) => belongsTo(r.name, name) && r.phase !== 'terminating',
      );
      const done =
        deployment !== undefined &&
        deployment.generation >= view.generation &&
        deployment.updatedReplicas === deployment.replicas &&
        deployment.readyReplicas === deployment.replicas &&
        replicas.length === deployment.replicas;
      if (done && failures.length === 0) {
        console.log(
          `${name} revision ${view.revision} rolled out in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`,
        );
        return { ok: true };
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    abort.abort();
    await watching.catch(() => undefined);
  }
}

/** The runtime's refusal (400 bad variable, 409 no previous revision) printed as it says it. */
async function refused(request: () => Promise<RolloutView>): Promise<RolloutView | undefined> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof RuntimeNotRunningError) throw error;
    console.error((error as Error).message);
    return undefined;
  }
}

async function known(client: ControlClient, name: string): Promise<boolean> {
  const deployments = (await client.workloads()).filter((w) => w.kind === 'Deployment');
  if (deployments.some((d) => d.name === name)) return true;
  console.error(`no Deployment named ${name}; there are: ${deployments.map((d) => d.name).join(', ')}`);
  return false;
}

/**
 * `rollout <deployment> --env KEY=VALUE ...`: a new template revision, rolled out by the runtime;
 * exits 1 saying why when the runtime rolls it back (progress deadline exceeded).
 */
export async function rollout(
  name: string,
  change: RolloutRequest,
  options: { wait: boolean; port?: number },
): Promise<number> {
  const client = new ControlClient(controlUrl(options.port));
  if (!(await known(client, name))) return 2;
  const startedAt = Date.now();
  const view = await refused(() => client.rollout(name, change));
  if (!view) return 1;
  console.log(
    `rollout of ${name}: revision ${view.revision}, rolled back unless its new replicas progress within ${view.progressDeadlineSeconds}s`,
  );
  if (!options.wait) return 0;
  const outcome = await follow(
    client,
    view,
    startedAt,
    (e) => e.type === 'rollout-started' && (e.reason ?? '').startsWith(`revision ${view.revision} `),
  );
  if (outcome.ok) return 0;
  console.error(`${name} revision ${view.revision} was rolled back:\n${outcome.why}`);
  return 1;
}

/** `rollout undo <deployment>`: back to the previous revision, followed until it is rolled out. */
export async function rolloutUndo(name: string, options: { wait: boolean; port?: number }): Promise<number> {
  const client = new ControlClient(controlUrl(options.port));
  if (!(await known(client, name))) return 2;
  const startedAt = Date.now();
  const view = await refused(() => client.undo(name));
  if (!view) return 1;
  console.log(`rollout undo of ${name}: now revision ${view.revision}`);
  if (!options.wait) return 0;
  const outcome = await follow(
    client,
    view,
    startedAt,
    (e) => e.type === 'rolled-back' && (e.reason ?? '').includes(`(now revision ${view.revision})`),
  );
  if (outcome.ok) return 0;
  console.error(`rollout undo of ${name} did not complete:\n${outcome.why}`);
  return 1;
}
