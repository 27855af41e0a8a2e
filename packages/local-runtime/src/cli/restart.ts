import { ControlClient } from '../control-plane/control-client.ts';
import { belongsTo } from '../supervision/names.ts';
import { eventLine } from './format.ts';
import { controlUrl } from './paths.ts';

const TIMEOUT_MS = 300_000;

/** `restart <workload>`: a rolling restart; follows it until every replica is new (new uid) and ready. */
export async function restart(name: string, wait: boolean, port?: number): Promise<number> {
  const client = new ControlClient(controlUrl(port));
  const known = await client.workloads();
  if (!known.some((d) => d.name === name)) {
    console.error(`no workload named ${name}; there are: ${known.map((d) => d.name).join(', ')}`);
    return 2;
  }
  const mine = (replica: string) => belongsTo(replica, name);
  const before = new Set((await client.replicas()).filter((r) => mine(r.name)).map((r) => r.uid));
  const abort = new AbortController();
  const started = Date.now();
  const tty = process.stdout.isTTY === true;
  const follow = (async () => {
    for await (const event of client.events({ signal: abort.signal })) {
      if (event.replica && mine(event.replica)) console.log(eventLine(event, tty));
    }
  })();
  await client.restart(name);
  console.log(`rolling restart of ${name}: one new replica at a time, old ones leave once it is ready`);
  if (!wait) {
    abort.abort();
    await follow;
    return 0;
  }
  try {
    for (;;) {
      const deployment = (await client.workloads()).find((d) => d.name === name);
      const replicas = (await client.replicas()).filter((r) => mine(r.name));
      const done =
        deployment !== undefined &&
        deployment.updatedReplicas === deployment.replicas &&
        deployment.readyReplicas === deployment.replicas &&
        replicas.every((r) => !before.has(r.uid));
      if (done) {
        console.log(`${name} rolled out in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        return 0;
      }
      if (Date.now() - started > TIMEOUT_MS) {
        console.error(
          `${name} is still rolling out after ${TIMEOUT_MS / 1000}s: make status, make logs SERVICE=${name}`,
        );
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    abort.abort();
    await follow.catch(() => undefined);
  }
}
