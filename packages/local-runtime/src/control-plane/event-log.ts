import type { RuntimeEvent } from '@self-healing-shop/contracts';

export type { RuntimeEvent, RuntimeEventType } from '@self-healing-shop/contracts';

export type NewEvent = Omit<RuntimeEvent, 'seq' | 'at'>;

/** An append-only, bounded event history with live subscribers; sequence numbers start at 1. */
export class EventLog {
  readonly #events: RuntimeEvent[] = [];
  readonly #listeners = new Set<(event: RuntimeEvent) => void>();
  readonly #capacity: number;
  readonly #now: () => number;
  #seq = 0;

  constructor(options: { capacity?: number; now?: () => number } = {}) {
    this.#capacity = options.capacity ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  append(event: NewEvent): RuntimeEvent {
    this.#seq += 1;
    const full: RuntimeEvent = { seq: this.#seq, at: new Date(this.#now()).toISOString(), ...event };
    this.#events.push(full);
    if (this.#events.length > this.#capacity) this.#events.splice(0, this.#events.length - this.#capacity);
    for (const listener of this.#listeners) listener(full);
    return full;
  }

  /** Events with seq greater than `seq`, oldest first (what is still held). */
  after(seq: number): RuntimeEvent[] {
    const first = this.#events.findIndex((event) => event.seq > seq);
    return first < 0 ? [] : this.#events.slice(first);
  }

  subscribe(listener: (event: RuntimeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
