import http from 'node:http';

function closeIdle(agent: http.Agent): void {
  for (const sockets of Object.values(agent.freeSockets))
    for (const socket of sockets ?? []) socket.destroy();
}

/** A ready replica as the front port sees it. */
export interface Endpoint {
  readonly name: string;
  readonly port: number;
  /** Keep-alive connections to this replica only, dropped when it leaves. */
  readonly agent: http.Agent;
}

/**
 * The ready replicas of one service (a Service's Endpoints), chosen as kube-proxy does in its default
 * (iptables and nftables) modes: a new client connection gets a ready replica at random and keeps it
 * while that replica stays ready (conntrack); a connection whose replica left gets a new one. Random, not
 * round robin: a fixed-rate load through two round-robin hops locks in phase, so that every call of one
 * caller and every hedge of it lands on the same replica (a frozen one took 5 of 5 attempts of an order).
 */
export class Endpoints {
  #list: Endpoint[] = [];
  readonly #random: () => number;
  readonly #byConnection = new WeakMap<object, string>();

  /** `random`: uniform in [0, 1), for the choice of a replica. */
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  get size(): number {
    return this.#list.length;
  }

  get names(): string[] {
    return this.#list.map((endpoint) => endpoint.name);
  }

  /** Replaces the set; replicas that stay keep their agent (and connections), those that left are closed. */
  set(replicas: ReadonlyArray<{ readonly name: string; readonly port: number }>): void {
    const kept = new Map(this.#list.map((endpoint) => [endpoint.name, endpoint]));
    const list: Endpoint[] = [];
    for (const replica of replicas) {
      const existing = kept.get(replica.name);
      if (existing && existing.port === replica.port) {
        list.push(existing);
        kept.delete(replica.name);
      } else {
        list.push({
          name: replica.name,
          port: replica.port,
          agent: new http.Agent({ keepAlive: true, maxFreeSockets: 64 }),
        });
      }
    }
    // Idle sockets to replicas that left are closed; requests in flight on them finish (a draining replica).
    for (const gone of kept.values()) closeIdle(gone.agent);
    this.#list = list;
  }

  /** A ready replica at random, other than `except`; undefined when there is none. */
  pick(except?: string): Endpoint | undefined {
    const list = except === undefined ? this.#list : this.#list.filter((e) => e.name !== except);
    if (list.length === 0) return undefined;
    return list[Math.min(list.length - 1, Math.floor(this.#random() * list.length))];
  }

  /** The replica of a client connection: the one it has while that is ready, else a new pick it keeps. */
  forConnection(connection: object): Endpoint | undefined {
    const name = this.#byConnection.get(connection);
    const kept = name === undefined ? undefined : this.#list.find((endpoint) => endpoint.name === name);
    if (kept) return kept;
    const picked = this.pick();
    if (picked) this.#byConnection.set(connection, picked.name);
    return picked;
  }

  close(): void {
    for (const endpoint of this.#list) endpoint.agent.destroy();
    this.#list = [];
  }
}
