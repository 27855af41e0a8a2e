/**
 * The services' admin API (faults, audit), reached through kube-apiserver's proxy subresources, so
 * the chaos engine needs no port-forward and no route into the cluster network:
 * - one pod:    `/api/v1/namespaces/{ns}/pods/{pod}:{port}/proxy{path}` (the port is a number: the pod
 *   proxy does not resolve port names), answered by that pod even while it is Terminating;
 * - a service:  `/api/v1/namespaces/{ns}/services/{svc}:{portName}/proxy{path}`, answered by one ready
 *   endpoint, or 503 "no endpoints available for service" when there is none.
 *
 * The token goes in `x-admin-token`: kube-apiserver's authentication filter deletes `Authorization`
 * from a request it has authenticated (staging/src/k8s.io/apiserver/pkg/endpoints/filters/
 * authentication.go), so a token sent that way never reaches the pod. The API server's own
 * credentials (bearer token or client certificate from the kubeconfig) are applied as for any call.
 */
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { ADMIN_TOKEN_HEADER, CONTAINER_PORT } from '@self-healing-shop/contracts';
import { fetch } from 'undici';
import { TargetError } from '../../target.ts';

/** The Services' port name (k8s/base/<service>/service.yaml: `name: http`, port 80 → targetPort http). */
export const SERVICE_PORT_NAME = 'http';

const METHODS = { GET: HttpMethod.GET, POST: HttpMethod.POST, DELETE: HttpMethod.DELETE } as const;

export interface AdminResponse {
  status: number;
  text: string;
}

export class AdminProxy {
  readonly #kc: KubeConfig;
  readonly #namespace: string;
  readonly #token: string;

  constructor(kc: KubeConfig, namespace: string, token: string) {
    this.#kc = kc;
    this.#namespace = namespace;
    this.#token = token;
  }

  podPath(pod: string, path: string): string {
    return `/api/v1/namespaces/${this.#namespace}/pods/${encodeURIComponent(pod)}:${CONTAINER_PORT}/proxy${path}`;
  }

  servicePath(service: string, path: string): string {
    return (
      `/api/v1/namespaces/${this.#namespace}/services/` +
      `${encodeURIComponent(service)}:${SERVICE_PORT_NAME}/proxy${path}`
    );
  }

  /** Sends one request through the API server; rejects with a TargetError naming `what` on a non-2xx. */
  async send(
    what: string,
    method: keyof typeof METHODS,
    apiPath: string,
    body?: unknown,
    /** False for what is not one of the services (Alertmanager): the admin token stays with them. */
    withAdminToken = true,
    /**
     * Ends the request (a TargetError naming `what`). The API server sets no timeout on a proxied
     * request, so a pod that accepts a connection and never answers (frozen) would hold it for good.
     */
    signal?: AbortSignal,
  ): Promise<AdminResponse> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new TargetError('the kubeconfig has no current cluster');
    const url = `${cluster.server}${apiPath}`;
    const ctx = new RequestContext(url, METHODS[method]);
    await this.#kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = {
      ...ctx.getHeaders(),
      ...(withAdminToken ? { [ADMIN_TOKEN_HEADER]: this.#token } : {}),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: ctx.getDispatcher(),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw new TargetError(`${what}: no answer (${String(signal.reason)})`);
      throw new TargetError(`${what}: cannot reach the API server: ${(error as Error).message}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new TargetError(`${what}: the answer broke off: ${(error as Error).message}`);
    }
    if (!response.ok) {
      throw new TargetError(`${what} answered ${response.status}: ${summary(text)}`);
    }
    return { status: response.status, text };
  }
}

/** The message of a metav1.Status or problem+json body, else the start of the text. */
function summary(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; detail?: unknown; title?: unknown };
    const message = body.message ?? body.detail ?? body.title;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200) || '(empty body)';
}

/** Parses a 2xx body as JSON; an empty or non-JSON body is an error naming what was asked. */
export function parseJson<T>(what: string, response: AdminResponse): T {
  try {
    return JSON.parse(response.text) as T;
  } catch {
    throw new TargetError(
      `${what} answered ${response.status} without a JSON body: ${response.text.slice(0, 200)}`,
    );
  }
}
