// Rollouts on the real platform (k8s/base, services/*/src/main.ts, embedded PostgreSQL): a version
// whose readiness never passes (a DATABASE_URL naming a port where no PostgreSQL listens, a real
// configuration error) is rolled back when its progress deadline passes, and the CLI says why.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RuntimeInfo } from '@self-healing-shop/contracts';
import { createControlApi } from '../src/control-plane/control-api.ts';
import { rolloutTarget } from '../src/control-plane/rollout-target.ts';
import { freePort } from '../src/networking/ports.ts';
import type { Runtime } from '../src/runtime.ts';
import { repoRoot, startPlatform, waitFor } from './helpers.ts';

const execFileAsync = promisify(execFile);
const cli = path.join(repoRoot, 'packages', 'local-runtime', 'src', 'cli.ts');
const ORDER = { customer: { email: 'a@b.c' }, items: [{ productId: 'p-001', quantity: 1 }] };

/** Runs the CLI; resolves with its exit code and output whatever the code. */
async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [cli, ...args], { timeout: 150_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('rollouts on the local runtime', () => {
  let runtime: Runtime;
  let dataDir: string;
  let control: ReturnType<typeof createControlApi>;
  let controlPort: number;
  const orderReplicas = () => runtime.replicas().filter((r) => r.service === 'order');
  // What `rollout` waits for, as `kubectl rollout status`: replicas still terminating no longer count.
  const serving = () => orderReplicas().filter((r) => r.phase !== 'terminating');
  const placeOrder = () =>
    fetch(`${runtime.frontUrls['order']}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ORDER),
      signal: AbortSignal.timeout(10_000),
    });

  beforeAll(async () => {
    ({ runtime, dataDir } = await startPlatform('rollout-it-'));
    // The runtime's control API with its rollout routes over the same controllers.
    control = createControlApi({
      events: runtime.events,
      replicas: () => runtime.replicas(),
      workloads: () => [...runtime.controllers.values()].map((c) => c.status()),
      kill: () => false,
      restart: () => false,
      metrics: () => Promise.resolve(''),
      info: () => ({}) as RuntimeInfo,
      ...rolloutTarget(runtime.controllers),
    });
    await new Promise<void>((resolve) => control.server.listen(0, '127.0.0.1', resolve));
    controlPort = (control.server.address() as AddressInfo).port;
    await waitFor(
      () => orderReplicas().filter((r) => r.ready).length === 2,
      '2 ready order replicas',
      120_000,
    );
  }, 180_000);

  afterAll(async () => {
    control?.closeStreams();
    await new Promise((resolve) => control?.server.close(resolve));
    await runtime?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('rolls back a version whose readiness never passes, keeps serving, and the CLI exits 1 saying why', async () => {
    // After another test's rollout the old replicas may still terminate: start from 2 ready ones.
    await waitFor(
      () => orderReplicas().length === 2 && orderReplicas().every((r) => r.ready),
      '2 ready order replicas and no other',
      60_000,
    );
    const before = orderReplicas().map((r) => r.uid);
    const from = runtime.events.lastSeq;
    // A port nothing listens on: the new replicas start, answer /health, and /ready stays 503.
    const closed = await freePort();
    // Revisions count every rollout of the runtime, whichever test ran before: the next is one more.
    const revision = runtime.controllers.get('order')!.revision + 1;
    const result = await runCli([
      'rollout',
      'order',
      '--env',
      `DATABASE_URL=postgres://shop:shop@127.0.0.1:${closed}/shop`,
      '--progress-deadline',
      '15',
      '--control-port',
      String(controlPort),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`order revision ${revision} was rolled back`);
    expect(result.stderr).toMatch(
      /progress-deadline-exceeded: ReplicaSet order-\w+ has timed out progressing/,
    );
    const types = runtime.events
      .after(from)
      .filter((e) => e.service === 'order' && e.replica === null)
      .map((e) => e.type);
    expect(types).toEqual(['rollout-started', 'progress-deadline-exceeded', 'rolled-back']);
    // maxUnavailable 0: the old replicas never left, and the broken one is gone.
    await waitFor(() => orderReplicas().length === 2, 'the broken replica to leave', 60_000);
    expect(
      orderReplicas()
        .map((r) => r.uid)
        .sort(),
    ).toEqual([...before].sort());
    expect(orderReplicas().every((r) => r.ready)).toBe(true);
    expect(runtime.controllers.get('order')!.status()).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      updatedReplicas: 2,
    });
    expect((await placeOrder()).status).toBe(201);
  }, 150_000);

  it('rolls out a working version to every replica and undoes it', async () => {
    const before = new Set(orderReplicas().map((r) => r.uid));
    const revision = runtime.controllers.get('order')!.revision + 1;
    const good = await runCli([
      'rollout',
      'order',
      '--env',
      'LOG_LEVEL=debug',
      '--control-port',
      String(controlPort),
    ]);
    expect(good).toMatchObject({ code: 0 });
    expect(good.stdout).toContain(`order revision ${revision} rolled out`);
    const rolledOut = serving();
    expect(rolledOut).toHaveLength(2);
    expect(rolledOut.every((r) => r.ready && !before.has(r.uid))).toBe(true);

    const undo = await runCli(['rollout', 'undo', 'order', '--control-port', String(controlPort)]);
    expect(undo).toMatchObject({ code: 0 });
    expect(undo.stdout).toContain(`rollout undo of order: now revision ${revision + 1}`);
    const after = serving();
    expect(after).toHaveLength(2);
    expect(after.every((r) => r.ready && !rolledOut.some((o) => o.uid === r.uid))).toBe(true);
    expect((await placeOrder()).status).toBe(201);
  }, 150_000);
});
