/**
 * TEST DOUBLE of kube-apiserver for the paths the chaos engine uses, strict where the engine depends
 * on the real behaviour (each point names what it models):
 * - authentication: every request needs the kubeconfig's bearer token (401 otherwise); the
 *   authentication filter then DELETES `Authorization` before a request is proxied to a pod or a
 *   Service (staging/src/k8s.io/apiserver/pkg/endpoints/filters/authentication.go);
 * - list with `limit`/`continue` pages of one consistent snapshot; an expired continue token is a 410;
 *   a list may be throttled with 429 and Retry-After (API Priority and Fairness);
 * - watch from a resourceVersion: replay then live events; ERROR 410 for a too-old version (see
 *   store.ts); the server ends a watch after its timeout (`timeoutSeconds`, else a random time between
 *   `watchTimeoutMs` and twice that, as --min-request-timeout does) with a BOOKMARK first when asked;
 * - delete with a grace period, evictions answering 429 under a PodDisruptionBudget (cluster.ts);
 * - the pod proxy (`pods/NAME:PORT/proxy`, numeric port, the pod answers even while Terminating) and
 *   the Service proxy (`services/NAME:PORTNAME/proxy`, one ready endpoint, 503 "no endpoints
 *   available for service" without one) forward over real HTTP to the pod network (pod-network.ts),
 *   whose containers serve the audit API from the shop double (`shop`, ../shop.ts);
 * - other objects (ServiceMonitors, PrometheusRules, Secrets) as fixed answers to GET on their exact
 *   path (`resources`; a list's labelSelector is not applied);
 * - the metrics.k8s.io API of metrics-server (`metricsServer`): absent as on kind, where nobody
 *   registered the APIService (404 NotFound, as for any unknown group); registered but unavailable
 *   (503, what kube-aggregator answers while the APIService's backend is down:
 *   staging/src/k8s.io/kube-aggregator/pkg/apiserver/handler_proxy.go); or serving a PodMetricsList of
 *   the namespace's pods that are not Terminating (metrics-server's `GET .../namespaces/N/pods`).
 * Listens on 127.0.0.1, port 0. It is not Kubernetes; it lets the real @kubernetes/client-node be
 * driven in tests.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { CONTAINER_PORT } from '@self-healing-shop/contracts';
import { Cluster, type ClusterTiming, type FakeWorkloadSpec } from './cluster.ts';
import { Shop, type ShopOptions } from '../shop.ts';
import { PodNetwork } from './pod-network.ts';
import { Rollouts } from './rollouts.ts';
import { Store, type Kind, type Obj, type Watcher } from './store.ts';

export type { FakeWorkloadSpec } from './cluster.ts';

export interface FakeKubeOptions extends Partial<ClusterTiming> {
  namespace?: string;
  /** Deployments, and StatefulSets (`kind: 'StatefulSet'`). */
  deployments: FakeWorkloadSpec[];
  /** The bearer token the API server accepts (the kubeconfig's user token). */
  apiToken?: string;
  /** The services' admin token (`x-admin-token`). */
  adminToken?: string;
  /** Events kept for watches (watch cache size); older resourceVersions get 410. Default 1000. */
  historyLimit?: number;
  /** The server's watch timeout when the client sets none (scaled at random up to 2×); default 60 s. */
  watchTimeoutMs?: number;
  /** The services' data the pods' audit API reads (an order front places orders in `shop`). */
  shop?: ShopOptions;
  /**
   * Services of other namespaces reachable through the Service proxy, by `namespace/name:port`, each a
   * real server's base URL (e.g. the chart's Alertmanager: a test's real Alertmanager).
   */
  outsideServices?: Record<string, string>;
  /** Fixed answers to GET by exact path, e.g. `/apis/monitoring.coreos.com/v1/namespaces/shop/servicemonitors`. */
  resources?: Record<string, unknown>;
  /** metrics.k8s.io: `absent` (kind's default: no metrics-server), `unavailable` or `serving`. */
  metricsServer?: MetricsServerState;
  /** Images no node can pull: a pod of such a template never turns Ready (rollouts.ts). */
  unpullableImages?: string[];
}

export type MetricsServerState = 'absent' | 'unavailable' | 'serving';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'host'];

export class FakeKubeApi {
  readonly namespace: string;
  readonly apiToken: string;
  readonly adminToken: string;
  readonly requests: Array<{ method: string; path: string }> = [];
  readonly events: Array<Record<string, unknown>> = [];
  /** Requests proxied to an outside service, with the headers it received. */
  readonly outsideRequests: Array<{ service: string; path: string; headers: IncomingMessage['headers'] }> =
    [];
  readonly store: Store;
  readonly cluster: Cluster;
  /** Deployment revisions, ReplicaSets and rollout status; PATCH of a Deployment (rollouts.ts). */
  readonly rollouts: Rollouts;
  readonly network: PodNetwork;
  /** The services' data: orders, products and reservations, notifications. */
  readonly shop: Shop;
  url = '';
  /** Watch requests still to answer 503 (Infinity: all of them), like an overloaded or broken server. */
  failWatches = 0;
  /** List requests still to answer 503. */
  failLists = 0;
  /**
   * List requests still to answer 429 with `Retry-After: 1`, as API Priority and Fairness does when a
   * priority level's queues are full.
   */
  throttleLists = 0;
  /** Fixed answers to GET by exact path (custom resources, Secrets): tests change them to break a check. */
  readonly resources: Map<string, unknown>;
  metricsServer: MetricsServerState;
  readonly #server: Server;
  readonly #watchTimeoutMs: number;
  readonly #snapshots = new Map<string, { rv: number; rest: Obj[] }>();
  readonly #outside: Record<string, string>;

  constructor(options: FakeKubeOptions) {
    this.namespace = options.namespace ?? 'shop';
    this.apiToken = options.apiToken ?? 'cluster-api-token';
    this.adminToken = options.adminToken ?? 'chaos-demo-token';
    this.#watchTimeoutMs = options.watchTimeoutMs ?? 60_000;
    this.#outside = options.outsideServices ?? {};
    this.resources = new Map(Object.entries(options.resources ?? {}));
    this.metricsServer = options.metricsServer ?? 'absent';
    this.store = new Store(options.historyLimit ?? 1000);
    this.cluster = new Cluster(this.store, this.namespace, options.deployments, {
      msPerSecond: options.msPerSecond ?? 1000,
      replaceDelayMs: options.replaceDelayMs ?? 5,
      readyDelayMs: options.readyDelayMs ?? 80,
      kubeletLagMs: options.kubeletLagMs ?? 5,
      statusLagMs: options.statusLagMs ?? 10,
    });
    this.rollouts = new Rollouts(this.store, this.cluster, {
      msPerSecond: options.msPerSecond ?? 1000,
      readyDelayMs: options.readyDelayMs ?? 80,
      unpullableImages: options.unpullableImages ?? [],
    });
    this.shop = new Shop(options.shop);
    this.network = new PodNetwork(
      this.adminToken,
      (pod) => {
        const found = this.store.find('pods', pod);
        return found ? this.cluster.workloadOf(found)?.spec.name : undefined;
      },
      this.shop,
    );
    this.network.onFreeze = (pod, durationMs) => {
      const found = this.store.find('pods', pod);
      if (found) this.cluster.freeze(found, durationMs);
    };
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.#status(res, 500, 'InternalError', String(error));
        else res.destroy();
      });
    });
  }

  async start(): Promise<this> {
    await this.network.start();
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.cluster.stop();
    this.rollouts.stop();
    for (const w of this.store.watchers) {
      clearTimeout(w.timer);
      w.res.end();
    }
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.network.stop();
    this.shop.close();
  }

  /** A KubeConfig built in code that points at this server, with the given context name. */
  kubeConfig(contextName = 'kind-test'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake-user', token: this.apiToken }],
      contexts: [{ name: contextName, cluster: 'fake', user: 'fake-user', namespace: this.namespace }],
      currentContext: contextName,
    });
    return kc;
  }

  pods(workload?: string): Obj[] {
    const all = [...this.store.objects.pods.values()];
    return workload ? all.filter((p) => this.cluster.workloadOf(p)?.spec.name === workload) : all;
  }

  pod(name: string): Obj {
    const pod = this.store.find('pods', name);
    if (!pod) throw new Error(`no pod ${name}`);
    return pod;
  }

  readyReplicas(workload: string): number | undefined {
    return this.cluster.workloads.get(workload)?.object.status.readyReplicas as number | undefined;
  }

  /**
   * The steady state a test starts from, whatever an earlier test killed or marked unready: every
   * workload has its desired pods, all ready, none terminating.
   */
  atFullStrength(): boolean {
    return [...this.cluster.workloads.values()].every((w) => {
      const pods = this.pods(w.spec.name);
      return (
        this.readyReplicas(w.spec.name) === w.spec.replicas &&
        pods.length === w.spec.replicas &&
        pods.every((p) => !p.metadata.deletionTimestamp)
      );
    });
  }

  /** Marks a pod (un)ready, like a readiness probe that fails or passes. */
  setReady(name: string, ready: boolean): void {
    this.cluster.setReady(this.pod(name), ready);
  }

  /** Deletes a pod as another client would (a drain, a rollout); default grace: the pod's own. */
  deletePod(name: string, graceSeconds?: number): void {
    this.cluster.deletePod(this.pod(name), graceSeconds);
  }

  /** Ends every open watch abruptly (the connection is reset), as a network fault or a restart does. */
  dropWatches(): void {
    for (const w of [...this.store.watchers]) {
      this.store.watchers.delete(w);
      clearTimeout(w.timer);
      w.res.destroy();
    }
  }

  /** How many watch requests reached the server for a collection (`pods`, `deployments`, ...). */
  watchRequests(kind: Kind): number {
    return this.requests.filter((r) => r.path.includes(`/${kind}?`) && r.path.includes('watch=true')).length;
  }

  #send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string, extra: object = {}): void {
    this.#send(res, code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
      ...extra,
    });
  }

  async #body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  #list(kind: Kind, url: URL, res: ServerResponse): void {
    if (this.failLists > 0) {
      this.failLists -= 1;
      return this.#status(
        res,
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
      );
    }
    if (this.throttleLists > 0) {
      this.throttleLists -= 1;
      res.setHeader('Retry-After', '1');
      return this.#status(res, 429, 'TooManyRequests', 'Too many requests, please try again later.', {
        details: { retryAfterSeconds: 1 },
      });
    }
    const token = url.searchParams.get('continue');
    const limit = Number(url.searchParams.get('limit') ?? 0);
    let rv = this.store.resourceVersion;
    let items: Obj[];
    if (token) {
      const snapshot = this.#snapshots.get(token);
      this.#snapshots.delete(token);
      if (!snapshot || snapshot.rv < this.store.oldestResourceVersion) {
        return this.#status(
          res,
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. ' +
            'You can start a new list without the continue parameter.',
        );
      }
      rv = snapshot.rv;
      items = snapshot.rest;
    } else {
      items = this.store.list(kind, url.searchParams.get('labelSelector'));
    }
    let next: string | undefined;
    if (limit > 0 && items.length > limit) {
      next = randomUUID();
      this.#snapshots.set(next, { rv, rest: items.slice(limit) });
      items = items.slice(0, limit);
    }
    const listKind = {
      pods: 'PodList',
      deployments: 'DeploymentList',
      statefulsets: 'StatefulSetList',
      replicasets: 'ReplicaSetList',
    }[kind];
    this.#send(res, 200, {
      kind: listKind,
      apiVersion: kind === 'pods' ? 'v1' : 'apps/v1',
      metadata: { resourceVersion: String(rv), ...(next ? { continue: next } : {}) },
      items,
    });
  }

  #watch(kind: Kind, url: URL, req: IncomingMessage, res: ServerResponse): void {
    if (this.failWatches > 0) {
      this.failWatches -= 1;
      return this.#status(
        res,
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
      );
    }
    const selector = url.searchParams.get('labelSelector');
    const rvParam = url.searchParams.get('resourceVersion');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const from = Number(rvParam || 0);
    if (!from) {
      // No resourceVersion: synthetic ADDED events for the current state, then live changes.
      for (const object of this.store.list(kind, selector))
        res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
    } else {
      const replay = this.store.since(kind, from, selector);
      if (!replay) {
        const message = `too old resource version: ${from} (${this.store.oldestResourceVersion})`;
        const status = {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message,
          reason: 'Expired',
          code: 410,
        };
        res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
        return;
      }
      for (const event of replay) res.write(`${JSON.stringify(event)}\n`);
    }
    const watcher: Watcher = {
      kind,
      selector,
      res,
      bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
    };
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : this.#watchTimeoutMs * (1 + Math.random());
    watcher.timer = setTimeout(() => {
      this.store.watchers.delete(watcher);
      if (watcher.bookmarks) {
        const object = {
          kind: {
            pods: 'Pod',
            deployments: 'Deployment',
            statefulsets: 'StatefulSet',
            replicasets: 'ReplicaSet',
          }[kind],
          apiVersion: kind === 'pods' ? 'v1' : 'apps/v1',
          metadata: { resourceVersion: String(this.store.resourceVersion) },
        };
        res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
      }
      res.end();
    }, timeoutMs);
    this.store.watchers.add(watcher);
    req.on('close', () => {
      clearTimeout(watcher.timer);
      this.store.watchers.delete(watcher);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: `${path}${url.search}` });
    if (req.headers.authorization !== `Bearer ${this.apiToken}`) {
      return this.#status(res, 401, 'Unauthorized', 'Unauthorized');
    }
    // The authentication filter: the credential is the API server's, never forwarded.
    delete req.headers.authorization;
    const ns = `/namespaces/${this.namespace}`;
    const collections: Record<string, Kind> = {
      [`/api/v1${ns}/pods`]: 'pods',
      [`/apis/apps/v1${ns}/deployments`]: 'deployments',
      [`/apis/apps/v1${ns}/statefulsets`]: 'statefulsets',
      [`/apis/apps/v1${ns}/replicasets`]: 'replicasets',
    };
    const kind = collections[path];
    if (method === 'GET' && kind) {
      return url.searchParams.get('watch') === 'true'
        ? this.#watch(kind, url, req, res)
        : this.#list(kind, url, res);
    }
    let m: RegExpMatchArray | null;
    if (
      method === 'GET' &&
      (m = path.match(new RegExp(`^/apis/apps/v1${ns}/(deployments|statefulsets)/([^/]+)$`)))
    ) {
      const found = this.store.find(m[1] as Kind, decodeURIComponent(m[2]));
      return found
        ? this.#send(res, 200, found)
        : this.#status(res, 404, 'NotFound', `${m[1]} "${m[2]}" not found`);
    }
    if (method === 'PATCH' && (m = path.match(new RegExp(`^/apis/apps/v1${ns}/deployments/([^/]+)$`)))) {
      const answer = this.rollouts.patch(
        decodeURIComponent(m[1]),
        req.headers['content-type'] ?? '',
        await this.#body(req),
      );
      return 'error' in answer
        ? this.#status(res, answer.code, answer.reason, answer.error)
        : this.#send(res, 200, answer.object);
    }
    if (method === 'DELETE' && (m = path.match(new RegExp(`^/api/v1${ns}/pods/([^/]+)$`)))) {
      return this.#deletePod(decodeURIComponent(m[1]), url, req, res);
    }
    if (method === 'POST' && (m = path.match(new RegExp(`^/api/v1${ns}/pods/([^/]+)/eviction$`)))) {
      return this.#evict(decodeURIComponent(m[1]), req, res);
    }
    if (method === 'POST' && path === `/api/v1${ns}/events`) {
      const event = (await this.#body(req)) as Record<string, unknown>;
      this.events.push(event);
      return this.#send(res, 201, event);
    }
    if ((m = path.match(new RegExp(`^/api/v1${ns}/pods/([^/:]+)(?::([^/]+))?/proxy(/.*)?$`)))) {
      return this.#proxyToPod(decodeURIComponent(m[1]), m[2], m[3] ?? '/', url, req, res);
    }
    if ((m = path.match(new RegExp(`^/api/v1${ns}/services/([^/:]+)(?::([^/]+))?/proxy(/.*)?$`)))) {
      return this.#proxyToService(decodeURIComponent(m[1]), m[2], m[3] ?? '/', url, req, res);
    }
    if ((m = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/:]+):([^/]+)\/proxy(\/.*)?$/))) {
      return this.#proxyOutside(
        `${m[1]}/${decodeURIComponent(m[2])}:${m[3]}`,
        `${m[4] ?? '/'}${url.search}`,
        req,
        res,
      );
    }
    if (method === 'GET' && path.startsWith('/apis/metrics.k8s.io/')) return this.#podMetrics(path, res);
    if (method === 'GET' && this.resources.has(path)) return this.#send(res, 200, this.resources.get(path));
    this.#status(res, 404, 'NotFound', `the fake Kubernetes API does not serve ${method} ${path}`);
  }

  /** metrics-server's PodMetricsList (metrics.k8s.io/v1beta1), or what the API server says without it. */
  #podMetrics(path: string, res: ServerResponse): void {
    if (this.metricsServer === 'absent') {
      return this.#status(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    if (this.metricsServer === 'unavailable') {
      return this.#status(
        res,
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
      );
    }
    const namespaced = `/apis/metrics.k8s.io/v1beta1/namespaces/${this.namespace}/pods`;
    if (path !== namespaced && path !== '/apis/metrics.k8s.io/v1beta1/pods') {
      return this.#status(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    const now = new Date().toISOString();
    const items = this.pods()
      .filter((pod) => !pod.metadata.deletionTimestamp)
      .map((pod) => ({
        metadata: { name: pod.metadata.name, namespace: this.namespace, creationTimestamp: now },
        timestamp: now,
        window: '15s',
        containers: [{ name: 'app', usage: { cpu: '3m', memory: '48Mi' } }],
      }));
    this.#send(res, 200, {
      kind: 'PodMetricsList',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: {},
      items,
    });
  }

  /** A Service of another namespace: forwarded to the real server registered for it, else 404 as a missing Service. */
  #proxyOutside(service: string, path: string, req: IncomingMessage, res: ServerResponse): void {
    const base = this.#outside[service];
    if (!base) return this.#status(res, 404, 'NotFound', `services "${service.split('/')[1]}" not found`);
    this.outsideRequests.push({ service, path, headers: { ...req.headers } });
    const target = new URL(path, base);
    const headers = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) =>
      this.#status(res, 503, 'ServiceUnavailable', `error trying to reach service: ${error.message}`),
    );
    req.pipe(upstream);
  }

  async #deletePod(name: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await this.#body(req)) as
      { gracePeriodSeconds?: number; preconditions?: { uid?: string } } | undefined;
    const pod = this.store.find('pods', name);
    if (!pod) return this.#status(res, 404, 'NotFound', `pods "${name}" not found`);
    if (body?.preconditions?.uid && body.preconditions.uid !== pod.metadata.uid) {
      return this.#status(
        res,
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${body.preconditions.uid}, UID in object meta: ${pod.metadata.uid}`,
      );
    }
    const query = url.searchParams.get('gracePeriodSeconds');
    const grace = body?.gracePeriodSeconds ?? (query === null ? undefined : Number(query));
    this.cluster.deletePod(pod, grace);
    this.#send(res, 200, pod);
  }

  async #evict(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await this.#body(req)) as
      { deleteOptions?: { gracePeriodSeconds?: number; preconditions?: { uid?: string } } } | undefined;
    const pod = this.store.find('pods', name);
    if (!pod) return this.#status(res, 404, 'NotFound', `pods "${name}" not found`);
    const options = body?.deleteOptions;
    if (options?.preconditions?.uid && options.preconditions.uid !== pod.metadata.uid) {
      return this.#status(res, 409, 'Conflict', 'Precondition failed: UID in precondition does not match');
    }
    const refusal = this.cluster.evictionRefusal(pod);
    if (refusal) {
      return this.#status(res, 429, 'TooManyRequests', refusal, {
        details: { causes: [{ reason: 'DisruptionBudget', message: refusal }] },
      });
    }
    this.cluster.deletePod(pod, options?.gracePeriodSeconds);
    this.#send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  #proxyToPod(
    name: string,
    port: string | undefined,
    path: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const pod = this.store.find('pods', name);
    if (!pod) return this.#status(res, 404, 'NotFound', `pods "${name}" not found`);
    if (port !== undefined && port !== String(CONTAINER_PORT)) {
      return this.#status(
        res,
        503,
        'ServiceUnavailable',
        `error trying to reach service: dial tcp ${name}:${port}: connect: connection refused`,
      );
    }
    this.#forward(name, `${path}${url.search}`, req, res);
  }

  #proxyToService(
    name: string,
    port: string | undefined,
    path: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const workload = this.cluster.workloads.get(name);
    if (!workload) return this.#status(res, 404, 'NotFound', `services "${name}" not found`);
    const portName = workload.spec.servicePortName ?? 'http';
    if (port !== undefined && port !== portName && port !== '80') {
      return this.#status(
        res,
        503,
        'ServiceUnavailable',
        `no service port "${port}" found for service "${name}"`,
      );
    }
    const endpoints = this.cluster.readyEndpoints(name);
    if (endpoints.length === 0) {
      return this.#status(res, 503, 'ServiceUnavailable', `no endpoints available for service "${name}"`);
    }
    const pod = endpoints[Math.floor(Math.random() * endpoints.length)];
    this.#forward(pod.metadata.name, `${path}${url.search}`, req, res);
  }

  #forward(pod: string, path: string, req: IncomingMessage, res: ServerResponse): void {
    const headers = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    const upstream = request(
      {
        host: '127.0.0.1',
        port: this.network.port,
        method: req.method,
        path,
        headers: { ...headers, host: `${pod}.pod` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) =>
      this.#status(res, 503, 'ServiceUnavailable', `error trying to reach service: ${error.message}`),
    );
    req.pipe(upstream);
  }
}
