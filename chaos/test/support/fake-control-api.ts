/**
 * TEST DOUBLE of the local runtime's control API (README contract "Local runtime control API"):
 * GET /replicas, GET /deployments, POST /replicas/:name/kill, GET /events (Server-Sent Events with
 * replay by Last-Event-ID or ?after=), PUT /chaos/metrics. A killed replica exits and is replaced
 * by one with a new UID that becomes ready after a delay, as the real runtime does. Every replica's
 * port is one small fault-admin server that records the faults it is given. Not the runtime itself:
 * test/local.e2e.test.ts runs against the real one. 127.0.0.1, port 0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeReplica {
  name: string;
  service: string;
  uid: string;
  pid: number;
  port: number;
  phase: 'starting' | 'running' | 'terminating' | 'backoff';
  ready: boolean;
  restarts: number;
  startedAt: string;
  readyAt: string | null;
}

interface Deployment {
  name: string;
  replicas: number;
  generation: number;
}

export interface FakeControlOptions {
  deployments: Array<{ name: string; replicas: number }>;
  readyDelayMs?: number;
  exitDelayMs?: number;
  token?: string;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export class FakeControlApi {
  url = '';
  metrics: string | undefined;
  readonly faultRequests: Array<{ method: string; body: unknown; authorization?: string }> = [];
  readonly kills: string[] = [];
  readonly #options: Required<Omit<FakeControlOptions, 'deployments'>>;
  readonly #deployments: Deployment[];
  #replicas: FakeReplica[] = [];
  readonly #events: Array<Record<string, unknown>> = [];
  readonly #streams = new Set<ServerResponse>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #server: Server;
  readonly #admin: Server;
  #adminPort = 0;
  #seq = 0;
  #counter = 0;

  constructor(options: FakeControlOptions) {
    this.#options = {
      readyDelayMs: options.readyDelayMs ?? 80,
      exitDelayMs: options.exitDelayMs ?? 5,
      token: options.token ?? 'local-chaos-token',
    };
    this.#deployments = options.deployments.map((d) => ({ ...d, generation: 1 }));
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#admin = createServer((req, res) => void this.#handleAdmin(req, res));
  }

  async start(): Promise<this> {
    this.#adminPort = await listen(this.#admin);
    this.url = `http://127.0.0.1:${await listen(this.#server)}`;
    for (const d of this.#deployments) {
      for (let i = 0; i < d.replicas; i++) this.#spawn(d.name, true);
    }
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.#streams) s.end();
    await close(this.#server);
    await close(this.#admin);
  }

  replicas(service?: string): FakeReplica[] {
    return this.#replicas.filter((r) => !service || r.service === service);
  }

  /** Ends every open event stream (a dropped connection); clients should resume with Last-Event-ID. */
  dropStreams(): void {
    for (const s of this.#streams) s.end();
    this.#streams.clear();
  }

  /** Changes spec.replicas like the runtime's auto-scaler (a `scaled` event). */
  scale(service: string, replicas: number): void {
    const d = this.#deployments.find((x) => x.name === service);
    if (!d) throw new Error(`no deployment ${service}`);
    d.replicas = replicas;
    d.generation += 1;
    this.#event('scaled', service, null, `to ${replicas}`);
    while (this.replicas(service).length < replicas) this.#spawn(service, false);
    while (this.replicas(service).length > replicas) {
      const victim = this.replicas(service).at(-1)!;
      this.#replicas = this.#replicas.filter((r) => r !== victim);
      this.#event('exited', service, victim, 'scaled down');
    }
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #event(type: string, service: string, replica: FakeReplica | null, reason?: string): void {
    this.#seq += 1;
    const event = {
      seq: this.#seq,
      at: new Date().toISOString(),
      type,
      service,
      replica: replica?.name ?? null,
      uid: replica?.uid ?? null,
      ...(reason ? { reason } : {}),
    };
    this.#events.push(event);
    for (const s of this.#streams) s.write(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  #spawn(service: string, ready: boolean): FakeReplica {
    this.#counter += 1;
    const now = new Date().toISOString();
    const replica: FakeReplica = {
      name: `${service}-${this.#counter.toString(36).padStart(5, 'x')}`,
      service,
      uid: randomUUID(),
      pid: 10_000 + this.#counter,
      port: this.#adminPort,
      phase: ready ? 'running' : 'starting',
      ready,
      restarts: 0,
      startedAt: now,
      readyAt: ready ? now : null,
    };
    this.#replicas.push(replica);
    this.#event('started', service, replica);
    if (ready) this.#event('ready', service, replica);
    else {
      this.#later(this.#options.readyDelayMs, () => {
        if (!this.#replicas.includes(replica)) return;
        replica.phase = 'running';
        replica.ready = true;
        replica.readyAt = new Date().toISOString();
        this.#event('ready', service, replica);
      });
    }
    return replica;
  }

  #status(d: Deployment) {
    const live = this.replicas(d.name).filter((r) => r.phase !== 'terminating');
    const ready = live.filter((r) => r.ready).length;
    return {
      name: d.name,
      replicas: d.replicas,
      readyReplicas: ready,
      updatedReplicas: live.length,
      availableReplicas: ready,
      generation: d.generation,
      observedGeneration: d.generation,
    };
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  async #body(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    let m: RegExpMatchArray | null;
    if (req.method === 'GET' && url.pathname === '/replicas')
      return this.#json(res, 200, { items: this.#replicas });
    if (req.method === 'GET' && url.pathname === '/deployments') {
      return this.#json(res, 200, { items: this.#deployments.map((d) => this.#status(d)) });
    }
    if (req.method === 'POST' && (m = url.pathname.match(/^\/replicas\/([^/]+)\/kill$/))) {
      await this.#body(req);
      const replica = this.#replicas.find((r) => r.name === decodeURIComponent(m![1]));
      if (!replica) return this.#json(res, 404, { title: 'no such replica' });
      this.kills.push(replica.name);
      replica.phase = 'terminating';
      replica.ready = false;
      this.#event('killed', replica.service, replica, 'SIGKILL from the control API');
      this.#later(this.#options.exitDelayMs, () => {
        this.#replicas = this.#replicas.filter((r) => r !== replica);
        this.#event('exited', replica.service, replica, 'signal SIGKILL');
        const successor = this.#spawn(replica.service, false);
        this.#event('replaced', replica.service, replica, `by ${successor.name}`);
      });
      return this.#json(res, 202, {});
    }
    if (req.method === 'GET' && url.pathname === '/events') {
      const after = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? this.#seq);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': connected\n\n');
      for (const e of this.#events) {
        if ((e.seq as number) > after) res.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`);
      }
      this.#streams.add(res);
      req.on('close', () => this.#streams.delete(res));
      return;
    }
    if (req.method === 'PUT' && url.pathname === '/chaos/metrics') {
      this.metrics = await this.#body(req);
      return void res.writeHead(204).end();
    }
    this.#json(res, 404, { title: 'not found' });
  }

  async #handleAdmin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await this.#body(req);
    if (req.headers.authorization !== `Bearer ${this.#options.token}`)
      return this.#json(res, 401, { title: 'no' });
    this.faultRequests.push({ method: req.method ?? '', body: text ? JSON.parse(text) : undefined });
    if (req.method === 'POST') return this.#json(res, 201, { id: randomUUID(), ...JSON.parse(text) });
    res.writeHead(204).end();
  }
}
