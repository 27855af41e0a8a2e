import type { Clock } from '../clock/clock.ts';

// Attempts of one policy share a timeout, so their deadlines arrive in the order they were set: a FIFO
// list under a single clock timer replaces a Node timer per attempt (setTimeout + clearTimeout were the
// largest cost of the policy around a fast call). A deadline earlier than the last one queued (an attempt
// cut short by the overall deadline) gets a timer of its own.

export interface TimeoutHandle {
  cancel(): void;
}

class Entry implements TimeoutHandle {
  readonly queue: TimeoutQueue;
  readonly at: number;
  readonly onTimeout: () => void;
  done = false;
  next: Entry | undefined = undefined;

  constructor(queue: TimeoutQueue, at: number, onTimeout: () => void) {
    this.queue = queue;
    this.at = at;
    this.onTimeout = onTimeout;
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.queue.cancelled(this);
  }
}

export class TimeoutQueue {
  readonly #clock: Clock;
  #head: Entry | undefined = undefined;
  #tail: Entry | undefined = undefined;
  #live = 0;
  #timer: unknown = undefined;
  #timerAt = Infinity;
  #disposed = false;
  readonly #fire = (): void => this.#onTimer();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Deadlines not yet fired or cancelled. */
  get size(): number {
    return this.#live;
  }

  /** Calls `onTimeout` once `ms` have passed, unless cancelled first. */
  schedule(ms: number, onTimeout: () => void): TimeoutHandle {
    const clock = this.#clock;
    const at = clock.now() + ms;
    if (this.#tail !== undefined && at < this.#tail.at) {
      const own = clock.setTimeout(onTimeout, ms, { unref: true });
      return { cancel: () => clock.clearTimeout(own) };
    }
    const entry = new Entry(this, at, onTimeout);
    if (this.#tail === undefined) this.#head = this.#tail = entry;
    else this.#tail = this.#tail.next = entry;
    this.#live++;
    this.#arm();
    return entry;
  }

  /** @internal called by an entry when it is cancelled. */
  cancelled(entry: Entry): void {
    this.#live--;
    if (entry === this.#head) this.#dropDone();
    if (this.#disposed) this.dispose();
  }

  #dropDone(): void {
    let head = this.#head;
    while (head !== undefined && head.done) head = head.next;
    this.#head = head;
    // The clock timer stays armed when the list empties: sequential calls would otherwise pay a
    // setTimeout and a clearTimeout each. When it fires with nothing due it simply is not re-armed.
    if (head === undefined) this.#tail = undefined;
  }

  /** Clears the clock timer once no deadline is pending (a disposed policy leaves nothing behind). */
  dispose(): void {
    this.#disposed = true;
    if (this.#live === 0 && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
    }
  }

  #arm(): void {
    const head = this.#head;
    // A timer due no later than the head serves it: when it fires, it re-arms for what is left.
    if (head === undefined || (this.#timer !== undefined && this.#timerAt <= head.at)) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = head.at;
    // Unref'd: what the attempt waits on (a socket) keeps the process alive, not its timeout.
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, head.at - this.#clock.now()), {
      unref: true,
    });
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    let head = this.#head;
    while (head !== undefined && (head.done || head.at <= now)) {
      const entry = head;
      head = entry.next;
      this.#head = head;
      if (head === undefined) this.#tail = undefined;
      if (!entry.done) {
        entry.done = true;
        this.#live--;
        entry.onTimeout();
      }
    }
    this.#arm();
  }
}

export function createTimeoutQueue(clock: Clock): TimeoutQueue {
  return new TimeoutQueue(clock);
}
