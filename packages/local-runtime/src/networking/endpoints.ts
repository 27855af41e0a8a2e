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

/** The ready replicas of one service, picked round robin (a Service's Endpoints). */
export class Endpoints {
  #list: Endpoint[] = [];
  #next = 0;

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

  /** The next ready replica, skipping `except` when another exists; undefined when none is ready. */
  pick(except?: string): Endpoint | undefined {
    const list = this.#list;
    if (list.length === 0) return undefined;
    for (let i = 0; i < list.length; i += 1) {
      const endpoint = list[this.#next++ % list.length]!;
      if (endpoint.name !== except) return endpoint;
    }
    return except === undefined ? list[0] : undefined;
  }

  close(): void {
    for (const endpoint of this.#list) endpoint.agent.destroy();
    this.#list = [];
  }
}
