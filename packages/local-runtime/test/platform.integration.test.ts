// The real platform under the local runtime: k8s/base, services/*/src/main.ts, embedded PostgreSQL.
// Needs the services; it is what `make up` runs, on free ports and in a temporary data folder.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import type { Runtime } from '../src/runtime.ts';
import { nextEvent, startPlatform, waitFor } from './helpers.ts';

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
    ({ runtime, dataDir } = await startPlatform('platform-it-'));
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

  it("runs every service's replicas from its bundle, not from its sources", async () => {
    const started = runtime.events
      .after(0)
      .filter((e) => e.type === 'started' && !e.replica?.startsWith('postgres'));
    expect(started.length).toBeGreaterThanOrEqual(6);
    for (const event of started)
      expect(event.reason).toMatch(
        / runs node_modules\/\.cache\/local-runtime\/bundles\/(order|inventory|notification)\.[0-9a-f]{12}\.mjs$/,
      );
  });

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
    // The replacements are frozen as they start (a replica stuck at start), so no inventory replica is
    // ready while the order is answered: a replacement is ready about a second after a kill, and the
    // order's retries could otherwise reach it.
    const frozen = new Set<string>();
    const unfreeze = runtime.events.subscribe((e) => {
      const replica = inventory.replicas.find((r) => r.name === e.replica);
      if (e.type !== 'started' || !replica) return;
      inventory.kill(replica, 'SIGSTOP');
      frozen.add(replica.name);
    });
    for (const victim of victims) inventory.kill(victim, 'SIGKILL');
    await Promise.all(
      victims.map((v) =>
        nextEvent(runtime.events, from, (e) => e.type === 'exited' && e.replica === v.name, 'exit', 10_000),
      ),
    );
    const response = await placeOrder();
    unfreeze();
    for (const replica of inventory.replicas)
      if (frozen.has(replica.name)) inventory.kill(replica, 'SIGCONT');
    // Answered, and fast: 503 within the request's 10 s, while no inventory replica was ready.
    expect(response.status).toBe(503);
    expect(frozen.size).toBeGreaterThan(0);
    const readyBefore = runtime.events
      .after(from)
      .filter((e) => e.type === 'ready' && e.service === 'inventory');
    expect(readyBefore).toEqual([]);
    // Recovered: 6 orders in a row succeed, so the front reached both order replicas, each with a circuit
    // of its own that had opened (and the next test starts from a platform that serves).
    await waitFor(
      async () => {
        for (let i = 0; i < 6; i++) if ((await placeOrder()).status !== 201) return false;
        return true;
      },
      'orders to succeed again through every order replica',
      90_000,
    );
  }, 120_000);

  it('heals a SIGKILL of PostgreSQL: services recover without a restart, every acknowledged order is kept', async () => {
    await waitFor(
      () => ['order', 'inventory', 'notification'].every((s) => ready(s).length === 2),
      'every replica ready',
      90_000,
    );
    const database = runtime.replicas().find((r) => r.name === 'postgres-0')!;
    const from = runtime.events.lastSeq;
    const acknowledged: string[] = [];
    const statuses: number[] = [];
    const order = async () => {
      const response = await placeOrder().catch(() => undefined);
      statuses.push(response?.status ?? 0);
      if (response?.status === 201) acknowledged.push(((await response.json()) as { id: string }).id);
    };
    for (let i = 0; i < 5; i += 1) await order();
    process.kill(database.pid!, 'SIGKILL');
    // Orders keep coming while the database is down, until one succeeds again.
    await waitFor(
      async () => {
        await order();
        return statuses.at(-1) === 201 && acknowledged.length > 5;
      },
      'an order to succeed after the kill',
      60_000,
    );
    await nextEvent(
      runtime.events,
      from,
      (e) => e.type === 'ready' && e.replica === 'postgres-0',
      'ready',
      60_000,
    );
    const restarted = runtime.events
      .after(from)
      .filter((e) => e.type === 'exited' && e.service !== 'postgres')
      .map((e) => e.replica);
    expect(restarted).toEqual([]);
    for (const id of acknowledged) {
      const response = await fetch(`${runtime.frontUrls['order']}/orders/${id}`);
      expect([id, response.status]).toEqual([id, 200]);
    }
  }, 150_000);
});
