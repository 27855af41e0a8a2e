import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A replica of a dependency on 127.0.0.1 (port 0). `freeze()` makes it stop answering while the kernel
 * keeps accepting its connections (a SIGSTOPped process, a blocked event loop): requests, old and new,
 * hang until `thaw()`. `crash()` makes it reset every connection; `close()` stops it.
 */
export interface Replica {
  readonly name: string;
  readonly port: number;
  /** Requests received, answered or not. */
  readonly received: number;
  freeze(): void;
  thaw(): void;
  /** Resets every connection as soon as a request arrives (a crashed process behind a live endpoint). */
  crash(): void;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  /** Requests handled at once (others wait in the replica, as on a busy database row); default unbounded. */
  readonly concurrency?: number;
  /** Work per request in ms; default 0. */
  readonly workMs?: number;
}

export async function startReplica(name: string, options: ReplicaOptions = {}): Promise<Replica> {
  let frozen = false;
  let crashed = false;
  let received = 0;
  let busy = 0;
  const held: Array<() => void> = [];
  const waiting: Array<() => void> = [];
  const timers = new Set<NodeJS.Timeout>();
  const limit = options.concurrency ?? Infinity;
  const work = (res: ServerResponse): void => {
    busy++;
    const timer = setTimeout(() => {
      timers.delete(timer);
      busy--;
      if (!res.destroyed) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ replica: name }));
      }
      waiting.shift()?.();
    }, options.workMs ?? 0);
    timers.add(timer);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    received++;
    if (crashed) return void req.socket.destroy();
    req.resume();
    const serve = (): void => (busy < limit ? work(res) : void waiting.push(() => work(res)));
    if (frozen) held.push(serve);
    else serve();
  };
  const server: Server = createServer(handle);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let closing: Promise<void> | undefined;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    get received() {
      return received;
    },
    freeze: () => void (frozen = true),
    crash: () => void (crashed = true),
    thaw() {
      frozen = false;
      for (const serve of held.splice(0)) serve();
    },
    // Idempotent: server.close() on a closed server waits for a 'close' event that never comes again.
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        held.length = 0;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}

/**
 * A TCP proxy that sends each new connection to the next replica in turn, as kube-proxy and the local
 * runtime's front do: requests on one keep-alive connection all go to the same replica.
 */
export interface RoundRobinProxy {
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(replicas: readonly Replica[]): Promise<RoundRobinProxy> {
  let next = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const server: TcpServer = createTcpServer((client) => {
    connections++;
    const replica = replicas[next++ % replicas.length]!;
    const upstream = connect(replica.port, '127.0.0.1');
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // A refused or reset upstream resets the client's connection, as a proxy with no endpoint does.
    upstream.on('error', () => client.resetAndDestroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
