/**
 * TEST DOUBLE, the pods' containers: one HTTP server on 127.0.0.1:0 that answers for every pod, told
 * apart by the Host header the API server's proxy sets (`<pod>.pod`). Each container serves the
 * services' admin API as packages/contracts describes it: the token in `x-admin-token`, 401 without
 * it; `POST /admin/faults` (201 with an id), `DELETE /admin/faults` (204), `GET /admin/audit/*` of
 * the pod's service from the shop double (../shop.ts), unless the test set a fixed answer for that
 * path in `audit`. Inventory's pods also answer `GET /products` (public, as the real service) from the
 * shop. `GET /ready` is public too: `{ status: 'healthy', checks: [] }`, or what the test set for that pod in
 * `readiness`. Every request it receives is recorded with its headers, so a test can see what a
 * pod really got after the proxy.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN_HEADER } from '@self-healing-shop/contracts';
import type { Shop } from '../shop.ts';

export interface ContainerRequest {
  pod: string;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export class PodNetwork {
  readonly received: ContainerRequest[] = [];
  /** Faults accepted per pod. */
  readonly faults = new Map<string, Array<Record<string, unknown>>>();
  /**
   * Fixed `GET /admin/audit/...` answers per service and path (with query), e.g. `order` →
   * `/admin/audit/summary`; they take precedence over the shop's.
   */
  readonly audit = new Map<string, Map<string, unknown>>();
  /**
   * `GET /ready` answers per pod (status and body), or `'no answer'` (a frozen pod: the request stays
   * open); a pod without one is healthy with no checks.
   */
  readonly readiness = new Map<string, { status: number; body: unknown } | 'no answer'>();
  /** Called when a pod accepted a `freeze` fault (the cluster models the readiness probe failing). */
  onFreeze: (pod: string, durationMs: number) => void = () => {};
  port = 0;
  readonly #adminToken: string;
  readonly #serviceOf: (pod: string) => string | undefined;
  readonly #shop: Shop;
  readonly #server: Server;

  constructor(adminToken: string, serviceOf: (pod: string) => string | undefined, shop: Shop) {
    this.#adminToken = adminToken;
    this.#serviceOf = serviceOf;
    this.#shop = shop;
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const pod = (req.headers.host ?? '').replace(/\.pod(:\d+)?$/, '');
        const text = Buffer.concat(chunks).toString();
        const body = text ? (JSON.parse(text) as unknown) : undefined;
        const path = req.url ?? '/';
        this.received.push({ pod, method: req.method ?? 'GET', path, headers: req.headers, body });
        const answer = (status: number, value?: unknown): void => {
          if (value === undefined) res.writeHead(status).end();
          else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
        };
        if (req.method === 'GET' && path === '/products' && this.#serviceOf(pod) === 'inventory') {
          return answer(200, this.#shop.products().body);
        }
        if (req.method === 'GET' && path === '/ready') {
          const ready = this.readiness.get(pod) ?? { status: 200, body: { status: 'healthy', checks: [] } };
          if (ready === 'no answer') return;
          return answer(ready.status, ready.body);
        }
        if (req.headers[ADMIN_TOKEN_HEADER] !== this.#adminToken) {
          return answer(401, { type: 'urn:problem:unauthorized', title: 'Unauthorized', status: 401 });
        }
        if (path === '/admin/faults' && req.method === 'POST') {
          const fault: Record<string, unknown> = { id: randomUUID(), ...(body as Record<string, unknown>) };
          this.faults.set(pod, [...(this.faults.get(pod) ?? []), fault]);
          answer(201, fault);
          if (fault.type === 'freeze') this.onFreeze(pod, Number(fault.durationMs));
          return;
        }
        if (path === '/admin/faults' && req.method === 'DELETE') {
          this.faults.set(pod, []);
          return answer(204);
        }
        const service = this.#serviceOf(pod) ?? '';
        const data = this.audit.get(service)?.get(path);
        if (req.method === 'GET' && data !== undefined) return answer(200, data);
        if (req.method === 'GET' && path.startsWith('/admin/audit/')) {
          const { status, body: page } = this.#shop.audit(service, path);
          return answer(status, page);
        }
        answer(404, { title: 'Not Found', status: 404, detail: `${req.method} ${path}` });
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
