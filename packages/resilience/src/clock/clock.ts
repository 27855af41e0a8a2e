// Time that matters to behaviour (timeouts, backoff, cool-downs, sliding windows) comes from a Clock so
// that tests can drive it; production code uses systemClock.

export interface TimerOptions {
  /** Let the process exit while this timer is pending (cool-downs); the default keeps it alive. */
  readonly unref?: boolean;
}

export interface Clock {
  /** Milliseconds since the epoch, monotonic (never goes back). */
  now(): number;
  setTimeout(callback: () => void, ms: number, options?: TimerOptions): unknown;
  clearTimeout(handle: unknown): void;
}

const origin = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => origin + performance.now(),
  setTimeout(callback, ms, options) {
    const timer = setTimeout(callback, ms);
    if (options?.unref) timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers in order (each sees `now()` at its due time). */
  advance(ms: number): void;
  /** Number of timers not yet fired or cleared. */
  readonly pendingTimers: number;
}

interface ManualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** A clock that only moves when told to: deterministic tests of timeouts, backoff and cool-downs. */
export function createManualClock(start = 1_700_000_000_000): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, ManualTimer>();
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const timer = { id: nextId++, at: now + Math.max(0, ms), callback };
      timers.set(timer.id, timer);
      return timer.id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let due: ManualTimer | undefined;
        for (const timer of timers.values()) {
          if (timer.at <= target && (due === undefined || timer.at < due.at)) due = timer;
        }
        if (due === undefined) break;
        timers.delete(due.id);
        now = Math.max(now, due.at);
        due.callback();
      }
      now = target;
    },
    get pendingTimers() {
      return timers.size;
    },
  };
}
