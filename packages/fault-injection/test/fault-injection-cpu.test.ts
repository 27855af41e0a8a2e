import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Fault } from '../src/fault-injection.ts';
import { injectedCounts, startApp, waitFor, type TestApp } from './fault-injection-helpers.ts';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('cpu fault', () => {
  it('burns CPU for durationMs while probes keep answering, then stops and expires', async () => {
    const t = (current = await startApp());
    const durationMs = 600;
    const res = await request(t.server).post('/admin/faults').send({ type: 'cpu', durationMs }).expect(201);
    const fault = res.body as Fault;
    expect(Date.parse(fault.expiresAt!) - Date.parse(fault.createdAt)).toBe(durationMs);
    expect(t.faults.isBurningCpu()).toBe(true);

    await request(t.server).get('/health').expect(200);
    await request(t.server).get('/admin/faults').expect(200);
    // Both answered during the burn, not after it.
    expect(t.faults.isBurningCpu()).toBe(true);

    await waitFor(() => !t.faults.isBurningCpu(), 10_000, 'the burn to stop');
    // Ended by its own deadline (not deleted), having spun; how much CPU it used is a figure, not a test.
    expect(t.faults.list()).toEqual([]);
    const removed = t.lines.find((l) => l.msg === 'fault removed');
    expect(removed).toMatchObject({ faultId: fault.id, type: 'cpu', reason: 'expired' });
    expect(removed?.burnedMs).toBeGreaterThan(0);
    expect(await injectedCounts(t.registry)).toEqual({ latency: 0, error: 0, abort: 0, cpu: 1, freeze: 0 });
  });

  it('stops burning as soon as the fault is deleted', async () => {
    const t = (current = await startApp({ cpuSliceMs: 20 }));
    const res = await request(t.server)
      .post('/admin/faults')
      .send({ type: 'cpu', durationMs: 60_000 })
      .expect(201);
    expect(t.faults.isBurningCpu()).toBe(true);
    await request(t.server).delete(`/admin/faults/${res.body.id}`).expect(204);
    expect(t.faults.isBurningCpu()).toBe(false);
    expect(t.lines.find((l) => l.msg === 'fault removed')).toMatchObject({ type: 'cpu', reason: 'deleted' });
  });

  it('stops burning on dispose', async () => {
    const t = (current = await startApp());
    t.faults.add({ type: 'cpu', durationMs: 60_000 });
    expect(t.faults.isBurningCpu()).toBe(true);
    t.faults.dispose();
    expect(t.faults.isBurningCpu()).toBe(false);
    expect(t.faults.list()).toEqual([]);
  });

  it('is not applied to requests: other routes answer normally during the burn', async () => {
    const t = (current = await startApp());
    t.faults.add({ type: 'cpu', durationMs: 60_000 });
    const res = await request(t.server).get('/orders').expect(200);
    expect(res.body).toEqual({ items: [] });
    expect(await injectedCounts(t.registry)).toEqual({ latency: 0, error: 0, abort: 0, cpu: 1, freeze: 0 });
  });
});
