/**
 * TEST DOUBLE: an in-process HTTP server that speaks the few Kubernetes API paths the chaos engine
 * uses (list/watch pods and Deployments with resourceVersion, read Deployments, delete pods,
 * evictions with PodDisruptionBudget refusals, Events, the pod proxy to the fault admin API), and
 * behaves like a ReplicaSet: a deleted pod is replaced by one with a new UID that becomes ready
 * after a delay, and the Deployment status follows with observedGeneration.
 * It is not a Kubernetes API server; it exists so the real @kubernetes/client-node can be driven
 * in tests. Listens on 127.0.0.1, port 0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface FakeDeploymentSpec {
  name: string;
  replicas: number;
  /** PodDisruptionBudget minAvailable; evictions that would go under it get 429. */
  minAvailable?: number;
  protected?: boolean;
}

export interface FakeKubeOptions {
  namespace?: string;
  deployments: FakeDeploymentSpec[];
  /** Delay from a pod's deletion to its replacement being created. */
  replaceDelayMs?: number;
  /** Delay from a replacement's creation to it being ready. */
  readyDelayMs?: number;
  /** Delay before the Deployment status reflects a pod change (controller lag). */
  statusLagMs?: number;
  /** Never replace deleted pods (a broken controller). */
  noReplace?: boolean;
}

interface Obj {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    labels: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

interface WatchEvent {
  rv: number;
  kind: 'pods' | 'deployments';
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

const PART_OF = { 'app.kubernetes.io/part-of': 'self-healing-shop' };

function selectorMatches(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels[key.trim()] === value?.trim();
  });
}

export class FakeKubeApi {
  readonly namespace: string;
  readonly requests: Array<{ method: string; path: string }> = [];
  readonly events: Obj[] = [];
  readonly faults = new Map<string, unknown[]>();
  readonly #server: Server;
  readonly #options: Required<Omit<FakeKubeOptions, 'deployments' | 'namespace'>>;
  readonly #pods = new Map<string, Obj>();
  readonly #deployments = new Map<string, Obj & { fake: FakeDeploymentSpec }>();
  readonly #history: WatchEvent[] = [];
  readonly #watchers = new Set<{ kind: string; selector: string | null; res: ServerResponse }>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #rv = 100;
  #podCounter = 0;
  url = '';

  constructor(options: FakeKubeOptions) {
    this.namespace = options.namespace ?? 'shop';
    this.#options = {
      replaceDelayMs: options.replaceDelayMs ?? 20,
      readyDelayMs: options.readyDelayMs ?? 80,
      statusLagMs: options.statusLagMs ?? 10,
      noReplace: options.noReplace ?? false,
    };
    for (const spec of options.deployments) {
      const labels = { ...PART_OF, 'app.kubernetes.io/name': spec.name };
      if (spec.protected) Object.assign(labels, { 'chaos.self-healing-shop/protected': 'true' });
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: spec.name,
          namespace: this.namespace,
          uid: randomUUID(),
          resourceVersion: '',
          labels,
          generation: 1,
        },
        spec: {
          replicas: spec.replicas,
          selector: { matchLabels: { ...PART_OF, 'app.kubernetes.io/name': spec.name } },
          template: { metadata: { labels } },
        },
        status: {},
      } as unknown as Obj & { fake: FakeDeploymentSpec };
      Object.defineProperty(deployment, 'fake', { value: spec, enumerable: false });
      this.#deployments.set(spec.name, deployment);
      for (let i = 0; i < spec.replicas; i++) this.#createPod(spec.name, true, false);
      this.#updateStatus(spec.name, false);
    }
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const w of this.#watchers) w.res.end();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A KubeConfig built in code that points at this server, with the given context name. */
  kubeConfig(contextName = 'kind-test'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake-user' }],
      contexts: [{ name: contextName, cluster: 'fake', user: 'fake-user', namespace: this.namespace }],
      currentContext: contextName,
    });
    return kc;
  }

  pods(deployment?: string): Obj[] {
    return [...this.#pods.values()].filter(
      (p) => !deployment || p.metadata.labels['app.kubernetes.io/name'] === deployment,
    );
  }

  readyReplicas(deployment: string): number | undefined {
    return (this.#deployments.get(deployment)?.status as { readyReplicas?: number } | undefined)
      ?.readyReplicas;
  }

  /** Marks a pod (un)ready, like a failing readiness probe. */
  setReady(name: string, ready: boolean): void {
    const pod = [...this.#pods.values()].find((p) => p.metadata.name === name);
    if (!pod) throw new Error(`no pod ${name}`);
    this.#setPodReady(pod, ready);
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #record(kind: 'pods' | 'deployments', type: WatchEvent['type'], object: Obj): void {
    this.#rv += 1;
    object.metadata.resourceVersion = String(this.#rv);
    const copy = JSON.parse(JSON.stringify(object)) as Obj;
    const event: WatchEvent = { rv: this.#rv, kind, type, object: copy };
    this.#history.push(event);
    for (const w of this.#watchers) {
      if (w.kind === kind && selectorMatches(copy.metadata.labels, w.selector)) {
        w.res.write(`${JSON.stringify({ type, object: copy })}\n`);
      }
    }
  }

  #createPod(deployment: string, ready: boolean, emit = true): Obj {
    this.#podCounter += 1;
    const spec = this.#deployments.get(deployment)?.fake;
    const labels: Record<string, string> = {
      ...PART_OF,
      'app.kubernetes.io/name': deployment,
      'pod-template-hash': 'abc',
    };
    if (spec?.protected) labels['chaos.self-healing-shop/protected'] = 'true';
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${deployment}-abc-${String(this.#podCounter).padStart(5, '0')}`,
        namespace: this.namespace,
        uid: randomUUID(),
        resourceVersion: '',
        labels,
        creationTimestamp: new Date().toISOString(),
      },
      spec: { containers: [{ name: 'app', image: `self-healing-shop/${deployment}:dev` }] },
      status: {
        phase: ready ? 'Running' : 'Pending',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      },
    };
    this.#pods.set(pod.metadata.uid, pod);
    if (emit) this.#record('pods', 'ADDED', pod);
    else {
      this.#rv += 1;
      pod.metadata.resourceVersion = String(this.#rv);
    }
    return pod;
  }

  #isReady(pod: Obj): boolean {
    const status = pod.status as { conditions: Array<{ type: string; status: string }> };
    return status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  }

  #setPodReady(pod: Obj, ready: boolean): void {
    pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
    this.#record('pods', 'MODIFIED', pod);
    this.#updateStatusLater(pod.metadata.labels['app.kubernetes.io/name']);
  }

  #updateStatusLater(deployment: string): void {
    this.#later(this.#options.statusLagMs, () => this.#updateStatus(deployment, true));
  }

  #updateStatus(name: string, emit: boolean): void {
    const deployment = this.#deployments.get(name);
    if (!deployment) return;
    const pods = this.pods(name);
    const ready = pods.filter((p) => this.#isReady(p)).length;
    deployment.status = {
      replicas: pods.length,
      readyReplicas: ready,
      updatedReplicas: pods.length,
      availableReplicas: ready,
      observedGeneration: deployment.metadata.generation,
    };
    if (emit) this.#record('deployments', 'MODIFIED', deployment);
    else {
      this.#rv += 1;
      deployment.metadata.resourceVersion = String(this.#rv);
    }
  }

  #deletePod(pod: Obj): void {
    this.#pods.delete(pod.metadata.uid);
    this.#record('pods', 'DELETED', pod);
    const deployment = pod.metadata.labels['app.kubernetes.io/name'];
    this.#updateStatusLater(deployment);
    if (this.#options.noReplace) return;
    this.#later(this.#options.replaceDelayMs, () => {
      const replacement = this.#createPod(deployment, false);
      this.#updateStatusLater(deployment);
      this.#later(this.#options.readyDelayMs, () => {
        if (this.#pods.has(replacement.metadata.uid)) this.#setPodReady(replacement, true);
      });
    });
  }

  #send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.#send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
  }

  async #body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  #listOrWatch(kind: 'pods' | 'deployments', url: URL, req: IncomingMessage, res: ServerResponse): void {
    const selector = url.searchParams.get('labelSelector');
    const source = kind === 'pods' ? [...this.#pods.values()] : [...this.#deployments.values()];
    if (url.searchParams.get('watch') !== 'true') {
      const items = source.filter((o) => selectorMatches(o.metadata.labels, selector));
      this.#send(res, 200, {
        kind: kind === 'pods' ? 'PodList' : 'DeploymentList',
        apiVersion: kind === 'pods' ? 'v1' : 'apps/v1',
        metadata: { resourceVersion: String(this.#rv) },
        items,
      });
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') ?? this.#rv);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    // Replay what happened after the given resourceVersion, then stream live changes.
    for (const event of this.#history) {
      if (event.kind === kind && event.rv > from && selectorMatches(event.object.metadata.labels, selector)) {
        res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
      }
    }
    const watcher = { kind, selector, res };
    this.#watchers.add(watcher);
    req.on('close', () => this.#watchers.delete(watcher));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname;
    this.requests.push({ method: req.method ?? 'GET', path: `${path}${url.search}` });
    const ns = `/namespaces/${this.namespace}`;
    let m: RegExpMatchArray | null;
    if (req.method === 'GET' && path === `/api/v1${ns}/pods`) return this.#listOrWatch('pods', url, req, res);
    if (req.method === 'GET' && path === `/apis/apps/v1${ns}/deployments`) {
      return this.#listOrWatch('deployments', url, req, res);
    }
    if (req.method === 'GET' && (m = path.match(new RegExp(`^/apis/apps/v1${ns}/deployments/([^/]+)$`)))) {
      const d = this.#deployments.get(decodeURIComponent(m[1]));
      return d
        ? this.#send(res, 200, d)
        : this.#status(res, 404, 'NotFound', `deployments "${m[1]}" not found`);
    }
    if (req.method === 'DELETE' && (m = path.match(new RegExp(`^/api/v1${ns}/pods/([^/]+)$`)))) {
      const body = (await this.#body(req)) as { preconditions?: { uid?: string } } | undefined;
      const pod = [...this.#pods.values()].find((p) => p.metadata.name === decodeURIComponent(m![1]));
      if (!pod) return this.#status(res, 404, 'NotFound', `pods "${m[1]}" not found`);
      if (body?.preconditions?.uid && body.preconditions.uid !== pod.metadata.uid) {
        return this.#status(res, 409, 'Conflict', 'Precondition failed: UID in precondition does not match');
      }
      this.#deletePod(pod);
      return this.#send(res, 200, pod);
    }
    if (req.method === 'POST' && (m = path.match(new RegExp(`^/api/v1${ns}/pods/([^/]+)/eviction$`)))) {
      await this.#body(req);
      const pod = [...this.#pods.values()].find((p) => p.metadata.name === decodeURIComponent(m![1]));
      if (!pod) return this.#status(res, 404, 'NotFound', `pods "${m[1]}" not found`);
      const deployment = pod.metadata.labels['app.kubernetes.io/name'];
      const minAvailable = this.#deployments.get(deployment)?.fake.minAvailable;
      const readyAfter = this.pods(deployment).filter((p) => p !== pod && this.#isReady(p)).length;
      if (minAvailable !== undefined && readyAfter < minAvailable) {
        return this.#status(
          res,
          429,
          'TooManyRequests',
          `Cannot evict pod as it would violate the pod's disruption budget.`,
        );
      }
      this.#deletePod(pod);
      return this.#send(res, 201, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 });
    }
    if (req.method === 'POST' && path === `/api/v1${ns}/events`) {
      const event = (await this.#body(req)) as Obj;
      this.events.push(event);
      return this.#send(res, 201, event);
    }
    if ((m = path.match(new RegExp(`^/api/v1${ns}/pods/([^/:]+):(\\d+)/proxy(/.*)$`)))) {
      const pod = [...this.#pods.values()].find((p) => p.metadata.name === decodeURIComponent(m![1]));
      if (!pod) return this.#status(res, 404, 'NotFound', `pods "${m[1]}" not found`);
      if (req.headers.authorization !== 'Bearer chaos-demo-token')
        return this.#send(res, 401, { title: 'Unauthorized' });
      const list = this.faults.get(pod.metadata.name) ?? [];
      if (req.method === 'POST' && m[3] === '/admin/faults') {
        const fault = { id: randomUUID(), ...((await this.#body(req)) as object) };
        list.push(fault);
        this.faults.set(pod.metadata.name, list);
        return this.#send(res, 201, fault);
      }
      if (req.method === 'DELETE' && m[3] === '/admin/faults') {
        this.faults.set(pod.metadata.name, []);
        return void res.writeHead(204).end();
      }
    }
    this.#status(res, 404, 'NotFound', `the fake Kubernetes API does not serve ${req.method} ${path}`);
  }
}
