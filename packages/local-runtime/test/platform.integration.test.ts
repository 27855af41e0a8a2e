// The real platform under the local runtime: k8s/base, services/*/src/main.ts, embedded PostgreSQL.
// Needs the services; it is what `make up` runs, on free ports and in a temporary data folder.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { freePort } from '../src/networking/ports.ts';
import { startRuntime } from '../src/runtime.ts';
import type { Runtime } from '../src/runtime.ts';
import { nextEvent, repoRoot, waitFor } from './helpers.ts';

const ORDER = { customer: { email: 'a@b.c' }, items: [{ productId: 'p-001', quantity: 1 }] };

describe('the platform on the local runtime', () => {
  let runtime: Runtime;
  let dataDir: string;
  const ready = (service: string) => runtime.replicas().filter((r) => r.service === service && r.ready);
  const placeOrder = () =>
    fetch(`${runtime.frontUrls['order']}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ORDER),
      signal: AbortSignal.timeout(10_000),
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'platform-it-'));
    await chmod(dataDir, 0o755); // PostgreSQL runs as the postgres user when we are root
    runtime = await startRuntime({
      rootDir: repoRoot,
      dataDir,
      controlPort: 0,
      frontPorts: { order: 0, inventory: 0, notification: 0 },
      postgres: { port: await freePort() },
      prometheus: false,
      logger: pino({ level: 'silent' }),
    });
    await waitFor(
      () => ['order', 'inventory', 'notification'].every((s) => ready(s).length === 2),
      '2 ready replicas per service',
      120_000,
    );
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('runs 2 ready replicas per service and takes an order through the order front', async () => {
    const deployments = [...runtime.controllers.values()].map((c) => c.status());
    expect(deployments.map((d) => [d.name, d.readyReplicas]).sort()).toEqual([
      ['inventory', 2],
      ['notification', 2],
      ['order', 2],
    ]);
    const response = await placeOrder();
    expect({ status: response.status, body: await response.json() }).toMatchObject({
      status: 201,
      body: { id: expect.any(String), items: [{ productId: 'p-001', quantity: 1 }] },
    });
  }, 30_000);

  it('replaces a SIGKILLed replica with one that becomes ready', async () => {
    const victim = ready('order')[0]!;
    const from = runtime.events.lastSeq;
    runtime.controllers.get('order')!.kill(
      runtime.controllers.get('order')!.replicas.find((r) => r.name === victim.name)!,
      'SIGKILL',
    );
    const replaced = await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'replaced' && e.replica === victim.name,
      'replacement',
      10_000,
    );
    const successor = replaced.reason!.replace('by ', '');
    await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'ready' && e.replica === successor,
      'replacement ready',
      60_000,
    );
    expect(ready('order').map((r) => r.name)).toContain(successor);
    expect((await placeOrder()).status).toBe(201);
  }, 90_000);

  it('answers orders 503 fast while no inventory replica is ready, then recovers without help', async () => {
    const inventory = runtime.controllers.get('inventory')!;
    const victims = inventory.replicas.filter((r) => r.ready);
    const from = runtime.events.lastSeq;
    for (const victim of victims) inventory.kill(victim, 'SIGKILL');
    await Promise.all(
      victims.map((v) =>
        nextEvent(runtime.events, from, (e) => e.type === 'exited' && e.replica === v.name, 'exit', 10_000),
      ),
    );
    const started = performance.now();
    const response = await placeOrder();
    const elapsed = performance.now() - started;
    expect(response.status).toBe(503);
    expect(elapsed).toBeLessThan(2_000);
    await waitFor(async () => (await placeOrder()).status === 201, 'orders to succeed again', 90_000);
  }, 120_000);
});
