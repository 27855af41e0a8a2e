import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '../src/clock/clock.ts';
import { createTimeoutQueue } from '../src/timeout/timeout-queue.ts';

describe('timeout queue', () => {
  it('fires each deadline at its time, in order, under a single clock timer', () => {
    const clock = createManualClock(0);
    const queue = createTimeoutQueue(clock);
    const fired: string[] = [];
    queue.schedule(100, () => fired.push('a'));
    clock.advance(10);
    queue.schedule(100, () => fired.push('b'));
    clock.advance(10);
    queue.schedule(100, () => fired.push('c'));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(80);
    expect(fired).toEqual(['a']);
    clock.advance(9);
    expect(fired).toEqual(['a']);
    clock.advance(1);
    expect(fired).toEqual(['a', 'b']);
    clock.advance(10);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(queue.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never fires a cancelled deadline, and leaves no clock timer once disposed', () => {
    const clock = createManualClock(0);
    const queue = createTimeoutQueue(clock);
    const fired: string[] = [];
    const a = queue.schedule(100, () => fired.push('a'));
    const b = queue.schedule(100, () => fired.push('b'));
    b.cancel();
    a.cancel();
    expect(queue.size).toBe(0);
    clock.advance(1000);
    expect(fired).toEqual([]);
    queue.schedule(100, () => fired.push('c')).cancel();
    expect(clock.pendingTimers).toBe(1);
    queue.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires a later deadline after the head was cancelled', () => {
    const clock = createManualClock(0);
    const queue = createTimeoutQueue(clock);
    const fired: number[] = [];
    queue.schedule(100, () => fired.push(clock.now())).cancel();
    clock.advance(50);
    queue.schedule(100, () => fired.push(clock.now()));
    clock.advance(200);
    expect(fired).toEqual([150]);
  });

  it('gives a deadline earlier than the last queued one a timer of its own', () => {
    const clock = createManualClock(0);
    const queue = createTimeoutQueue(clock);
    const fired: string[] = [];
    queue.schedule(1000, () => fired.push('long'));
    const short = queue.schedule(10, () => fired.push('short'));
    expect(clock.pendingTimers).toBe(2);
    clock.advance(10);
    expect(fired).toEqual(['short']);
    const shorter = queue.schedule(5, () => fired.push('never'));
    shorter.cancel();
    clock.advance(5);
    short.cancel();
    clock.advance(985);
    expect(fired).toEqual(['short', 'long']);
  });

  it('keeps deadlines scheduled from inside a firing callback', () => {
    const clock = createManualClock(0);
    const queue = createTimeoutQueue(clock);
    const fired: number[] = [];
    queue.schedule(10, () => {
      fired.push(clock.now());
      queue.schedule(10, () => fired.push(clock.now()));
    });
    clock.advance(100);
    expect(fired).toEqual([10, 20]);
    expect(queue.size).toBe(0);
  });
});

it('re-uses one clock timer for sequential deadlines that are cancelled in turn', () => {
  const clock = createManualClock(0);
  const queue = createTimeoutQueue(clock);
  let armed = 0;
  const counting = {
    ...clock,
    setTimeout: (cb: () => void, ms: number, o?: { unref?: boolean }) => (
      armed++,
      clock.setTimeout(cb, ms, o)
    ),
  };
  const counted = createTimeoutQueue(counting);
  for (let i = 0; i < 1000; i++) {
    counted.schedule(100, () => undefined).cancel();
    clock.advance(1);
  }
  // One timer per timeout period rather than one per deadline.
  expect(armed).toBeLessThanOrEqual(11);
  expect(queue.size).toBe(0);
});
