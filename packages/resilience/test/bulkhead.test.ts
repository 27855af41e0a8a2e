import { describe, expect, it } from '@jest/globals';
import { createBulkhead } from '../src/bulkhead/bulkhead.ts';
import { BulkheadFullError, ResilienceError } from '../src/errors/errors.ts';
import { deferred, flush } from './helpers.ts';

describe('bulkhead', () => {
  it('runs at most maxConcurrent calls at once and queues the next ones', async () => {
    const bulkhead = createBulkhead('inventory', { maxConcurrent: 2, maxQueue: 2 });
    const gates = [deferred<void>(), deferred<void>(), deferred<void>()];
    let running = 0;
    let peak = 0;
    const calls = gates.map((gate) =>
      bulkhead.execute(async () => {
        running++;
        peak = Math.max(peak, running);
        await gate.promise;
        running--;
      }),
    );
    await flush();
    expect(bulkhead.active).toBe(2);
    expect(bulkhead.queued).toBe(1);
    for (const gate of gates) gate.resolve();
    await Promise.all(calls);
    expect(peak).toBe(2);
  });

  it('rejects with BulkheadFullError when slots and queue are full', async () => {
    const bulkhead = createBulkhead('inventory', { maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred<void>();
    const running = bulkhead.execute(() => gate.promise);
    const queued = bulkhead.execute(async () => 'queued');
    const error = await bulkhead.execute(async () => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect(error).toMatchObject({
      dependency: 'inventory',
      code: 'BULKHEAD_FULL',
      maxConcurrent: 1,
      maxQueue: 1,
    });
    gate.resolve();
    await running;
    await expect(queued).resolves.toBe('queued');
  });

  it('lets a queued call leave at once when its caller aborts, and never runs it', async () => {
    const bulkhead = createBulkhead('inventory', { maxConcurrent: 1, maxQueue: 5 });
    const gate = deferred<void>();
    const running = bulkhead.execute(() => gate.promise);
    const caller = new AbortController();
    let ran = false;
    const queued = bulkhead.execute(async () => {
      ran = true;
    }, caller.signal);
    const reason = new Error('gone');
    caller.abort(reason);
    await expect(queued).rejects.toBe(reason);
    gate.resolve();
    await running;
    await flush();
    expect(ran).toBe(false);
  });

  it('frees the queue slot of a waiter whose caller aborted, so the next caller can queue', async () => {
    const bulkhead = createBulkhead('inventory', { maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred<void>();
    const running = bulkhead.execute(() => gate.promise);
    const caller = new AbortController();
    const abandoned = bulkhead.execute(async () => 'abandoned', caller.signal);
    caller.abort(new Error('client went away'));
    await abandoned.catch(() => undefined);
    expect(bulkhead.queued).toBe(0);
    // The queue has room again: this caller waits instead of being rejected.
    const next = bulkhead.execute(async () => 'next');
    await flush();
    expect(bulkhead.queued).toBe(1);
    gate.resolve();
    await running;
    await expect(next).resolves.toBe('next');
  });

  it('hands a freed slot to the first-queued caller, never to one that arrives later', async () => {
    // An aborted waiter sits before the queued one; the newcomer arrives 0..12 microtask turns after the
    // running call has settled. Whatever the turn, the queued caller runs first and nobody is rejected.
    for (let turns = 0; turns <= 12; turns++) {
      const bulkhead = createBulkhead('inventory', { maxConcurrent: 1, maxQueue: 2 });
      const gate = deferred<void>();
      const order: string[] = [];
      const running = bulkhead.execute(() => gate.promise);
      const caller = new AbortController();
      const abandoned = bulkhead.execute(async () => order.push('abandoned'), caller.signal);
      const queued = bulkhead.execute(async () => {
        order.push('queued');
      });
      caller.abort(new Error('client went away'));
      await abandoned.catch(() => undefined);
      const late = running.then(async () => {
        for (let i = 0; i < turns; i++) await Promise.resolve();
        return bulkhead.execute(async () => {
          order.push('late');
        });
      });
      gate.resolve();
      const settled = await Promise.allSettled([running, queued, late]);
      const rejected = settled.filter((r) => r.status === 'rejected').length;
      expect({ turns, order, rejected }).toEqual({ turns, order: ['queued', 'late'], rejected: 0 });
    }
  });

  it('rejects only with BulkheadFullError, a ResilienceError, whatever the interleaving', async () => {
    const bulkhead = createBulkhead('inventory', { maxConcurrent: 2, maxQueue: 2 });
    const gates = Array.from({ length: 12 }, () => deferred<void>());
    const controllers = gates.map(() => new AbortController());
    const results = gates.map((gate, i) =>
      bulkhead
        .execute(() => gate.promise, controllers[i]!.signal)
        .then(
          () => 'ok',
          (error: unknown) => error,
        ),
    );
    controllers[3]!.abort(new Error('aborted'));
    gates[0]!.resolve();
    await flush();
    for (const gate of gates) gate.resolve();
    const settled = await Promise.all(results);
    const rejections = settled.filter((r) => r !== 'ok');
    expect(rejections.length).toBeGreaterThan(0);
    for (const rejection of rejections) {
      if ((rejection as Error).message === 'aborted') continue;
      expect(rejection).toBeInstanceOf(ResilienceError);
      expect(rejection).toBeInstanceOf(BulkheadFullError);
    }
    expect(bulkhead.active).toBe(0);
    expect(bulkhead.queued).toBe(0);
  });

  it('rejects invalid sizes', () => {
    expect(() => createBulkhead('d', { maxConcurrent: 0 })).toThrow(RangeError);
    expect(() => createBulkhead('d', { maxQueue: -1 })).toThrow(RangeError);
  });
});
