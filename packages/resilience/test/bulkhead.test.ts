import { describe, expect, it } from '@jest/globals';
import { createBulkhead } from '../src/bulkhead/bulkhead.ts';
import { BulkheadFullError } from '../src/errors/errors.ts';
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

  it('rejects invalid sizes', () => {
    expect(() => createBulkhead('d', { maxConcurrent: 0 })).toThrow(RangeError);
    expect(() => createBulkhead('d', { maxQueue: -1 })).toThrow(RangeError);
  });
});
