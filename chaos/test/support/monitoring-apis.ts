/**
 * TEST DOUBLES of the two HTTP APIs `chaos verify` reads on KIND, built from their documented shapes:
 * - Prometheus (https://prometheus.io/docs/prometheus/latest/querying/api/): `GET /api/v1/targets`
 *   → `{ status: "success", data: { activeTargets: [{ discoveredLabels, labels, scrapePool, scrapeUrl,
 *   globalUrl, lastError, lastScrape, lastScrapeDuration, health }], droppedTargets: [] } }` (`?state=active`
 *   leaves droppedTargets empty); `GET /api/v1/rules` → `{ status: "success", data: { groups: [{ name, file,
 *   rules, interval, limit, evaluationTime, lastEvaluation }] } }`;
 * - Grafana (https://grafana.com/docs/grafana/latest/developers/http_api/folder_dashboard_search/):
 *   `GET /api/search?query=&type=dash-db` → `[{ id, uid, title, uri, url, slug, type: "dash-db", tags,
 *   isStarred, folderUid, folderTitle }]`, the query matched case-insensitively within the title; basic
 *   authentication, 401 `{ "message": "Unauthorized" }` without valid credentials
 *   (https://grafana.com/docs/grafana/latest/developers/http_api/authentication/).
 * Both listen on 127.0.0.1 port 0; tests change `targets`, `groups` and `dashboards` to break a check.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTarget {
  job: string;
  pod: string;
  service: string;
  scrapePool: string;
  health: 'up' | 'down' | 'unknown';
  lastError?: string;
}

export interface FakeDashboard {
  uid: string;
  title: string;
}

export interface HttpDouble {
  url: string;
  requests: Array<{ path: string; authorization?: string }>;
  close(): Promise<void>;
}

async function listen(
  handler: (path: URL, authorization: string | undefined) => { status: number; body: unknown },
): Promise<HttpDouble> {
  const requests: HttpDouble['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://double');
    requests.push({ path: `${url.pathname}${url.search}`, authorization: req.headers.authorization });
    const { status, body } = handler(url, req.headers.authorization);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface PrometheusDouble extends HttpDouble {
  targets: FakeTarget[];
  groups: Array<{ name: string; rules: number }>;
}

export async function startPrometheusDouble(state: {
  targets: FakeTarget[];
  groups: Array<{ name: string; rules: number }>;
}): Promise<PrometheusDouble> {
  const double = await listen((url) => {
    if (url.pathname === '/api/v1/targets') {
      const activeTargets = prometheus.targets.map((t, i) => {
        const instance = `10.244.1.${i + 10}:8080`;
        return {
          discoveredLabels: { __address__: instance },
          labels: {
            job: t.job,
            instance,
            namespace: 'shop',
            pod: t.pod,
            service: t.service,
            endpoint: 'http',
          },
          scrapePool: t.scrapePool,
          scrapeUrl: `http://${instance}/metrics`,
          globalUrl: `http://${instance}/metrics`,
          lastError: t.lastError ?? '',
          lastScrape: new Date().toISOString(),
          lastScrapeDuration: 0.004,
          health: t.health,
        };
      });
      return { status: 200, body: { status: 'success', data: { activeTargets, droppedTargets: [] } } };
    }
    if (url.pathname === '/api/v1/rules') {
      const groups = prometheus.groups.map((g) => ({
        name: g.name,
        file: `/etc/prometheus/rules/prometheus-kube-prometheus-stack-prometheus-rulefiles-0/shop-${g.name}.yaml`,
        rules: Array.from({ length: g.rules }, (_, i) => ({
          name: `rule${i}`,
          type: 'recording',
          health: 'ok',
        })),
        interval: 15,
        limit: 0,
        evaluationTime: 0.001,
        lastEvaluation: new Date().toISOString(),
      }));
      return { status: 200, body: { status: 'success', data: { groups } } };
    }
    return { status: 404, body: { status: 'error', errorType: 'not_found', error: `no ${url.pathname}` } };
  });
  const prometheus = Object.assign(double, state) as PrometheusDouble;
  return prometheus;
}

export interface GrafanaDouble extends HttpDouble {
  dashboards: FakeDashboard[];
}

export async function startGrafanaDouble(state: {
  user: string;
  password: string;
  dashboards: FakeDashboard[];
}): Promise<GrafanaDouble> {
  const expected = `Basic ${Buffer.from(`${state.user}:${state.password}`).toString('base64')}`;
  const double = await listen((url, authorization) => {
    if (authorization !== expected) return { status: 401, body: { message: 'Unauthorized' } };
    if (url.pathname !== '/api/search') return { status: 404, body: { message: 'Not found' } };
    const query = (url.searchParams.get('query') ?? '').toLowerCase();
    const type = url.searchParams.get('type');
    const hits = grafana.dashboards
      .filter((d) => d.title.toLowerCase().includes(query) && (type === null || type === 'dash-db'))
      .map((d, i) => ({
        id: i + 1,
        uid: d.uid,
        title: d.title,
        uri: `db/${d.uid}`,
        url: `/d/${d.uid}/${d.uid}`,
        slug: '',
        type: 'dash-db',
        tags: ['self-healing-shop'],
        isStarred: false,
        folderUid: 'shop',
        folderTitle: 'Self-healing shop',
      }));
    return { status: 200, body: hits };
  });
  const grafana = Object.assign(double, { dashboards: state.dashboards }) as GrafanaDouble;
  return grafana;
}
