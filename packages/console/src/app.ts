import express, { type NextFunction, type Request, type Response } from 'express';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DashboardFiles } from './dashboards.ts';
import { PROMETHEUS_INSTALL_HINT, sendProblem } from './problem.ts';
import { renderReportHtml } from './report-html.ts';
import type { ChaosReportLike } from './report-types.ts';
import { staticAssets } from './static-assets.ts';
import { pipeGet, UpstreamUnreachableError } from './upstream.ts';

export interface ConsoleDeps {
  /** The runtime's control API, e.g. http://127.0.0.1:7070. */
  readonly controlUrl: string;
  /** The local Prometheus, or null when none runs (the live view still works). */
  readonly prometheusUrl: string | null;
  /** monitoring/dashboards */
  readonly dashboardsDir: string;
  /** The chaos engine's report folder (its --report-dir, default reports/chaos): report.json is read there. */
  readonly reportsDir: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** Prometheus HTTP API paths the console reads (read-only; no admin or write endpoints). */
const PROMETHEUS_PATHS = [
  /^api\/v1\/query$/,
  /^api\/v1\/query_range$/,
  /^api\/v1\/labels$/,
  /^api\/v1\/label\/[A-Za-z_][A-Za-z0-9_]*\/values$/,
  /^api\/v1\/series$/,
  /^api\/v1\/status\/(config|buildinfo)$/,
];

/** Control API paths the console reads (no kill or restart: the console only watches). */
const RUNTIME_PATHS = /^(replicas|workloads|deployments|status|events)$/;

/** Prometheus's scrape interval, the `$__rate_interval` input, read from its own config. */
const DEFAULT_SCRAPE_INTERVAL = '15s';

function splatPath(req: Request): string {
  const splat = (req.params as Record<string, string | string[]>).path;
  return Array.isArray(splat) ? splat.join('/') : (splat ?? '');
}

function queryString(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i === -1 ? '' : req.originalUrl.slice(i);
}

/** Builds the console's Express app from what it is given; no I/O here. */
export function createConsoleApp(deps: ConsoleDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const dashboards = new DashboardFiles(deps.dashboardsDir);

  app.get('/api/dashboards', async (_req, res) => {
    res.json({ items: await dashboards.list() });
  });

  app.get('/api/dashboards/:uid', async (req, res) => {
    const d = await dashboards.get(req.params.uid);
    if (!d)
      return sendProblem(
        res,
        404,
        'Dashboard not found',
        `no dashboard with uid "${req.params.uid}" in ${deps.dashboardsDir}`,
      );
    res.json(d);
  });

  app.get('/api/settings', async (_req, res) => {
    res.json({ controlUrl: deps.controlUrl, prometheus: await prometheusSettings(deps) });
  });

  app.get('/api/prometheus/*path', async (req, res) => {
    const path = splatPath(req);
    if (deps.prometheusUrl === null) {
      return sendProblem(
        res,
        503,
        'Prometheus is not running',
        `The local runtime runs no Prometheus. ${PROMETHEUS_INSTALL_HINT}`,
        {
          install: PROMETHEUS_INSTALL_HINT,
        },
      );
    }
    if (!PROMETHEUS_PATHS.some((p) => p.test(path))) {
      return sendProblem(
        res,
        404,
        'Not a Prometheus read endpoint',
        `/api/prometheus/${path} is not proxied; use api/v1/query, query_range, label/<name>/values, series`,
      );
    }
    try {
      await pipeGet(`${deps.prometheusUrl}/${path}${queryString(req)}`, req, res, { timeoutMs: 30_000 });
    } catch (error) {
      if (!(error instanceof UpstreamUnreachableError)) throw error;
      deps.logger.warn({ err: error }, 'prometheus unreachable');
      sendProblem(
        res,
        503,
        'Prometheus is not reachable',
        `${error.message}. Is it running? ${PROMETHEUS_INSTALL_HINT}`,
        {
          install: PROMETHEUS_INSTALL_HINT,
        },
      );
    }
  });

  app.get('/api/runtime/*path', async (req, res) => {
    const path = splatPath(req);
    if (!RUNTIME_PATHS.test(path)) {
      return sendProblem(
        res,
        404,
        'Not a control API read endpoint',
        `/api/runtime/${path} is not proxied; use replicas, workloads, events, status`,
      );
    }
    if (path === 'workloads') return sendWorkloads(deps.controlUrl, res);
    const headers: Record<string, string> = {};
    const lastEventId = req.get('last-event-id');
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    if (path === 'events') headers.accept = 'text/event-stream';
    try {
      await pipeGet(`${deps.controlUrl}/${path}${queryString(req)}`, req, res, {
        headers,
        timeoutMs: path === 'events' ? undefined : 10_000,
      });
    } catch (error) {
      if (!(error instanceof UpstreamUnreachableError)) throw error;
      sendProblem(
        res,
        502,
        'The runtime control API is not reachable',
        `${error.message}. Start the platform with \`make up\`.`,
      );
    }
  });

  app.get('/api/chaos/report', async (_req, res) => {
    const report = await readReport(deps.reportsDir);
    if (!report)
      return sendProblem(
        res,
        404,
        'No chaos report yet',
        `No report.json in ${deps.reportsDir}: run \`make chaos\` (pnpm chaos run pod-kill --target local).`,
      );
    res.json(report);
  });

  app.get('/api/chaos/report.html', async (_req, res) => {
    const report = await readReport(deps.reportsDir);
    if (!report)
      return sendProblem(
        res,
        404,
        'No chaos report yet',
        `No report.json in ${deps.reportsDir}: run \`make chaos\`.`,
      );
    res.type('html').send(renderReportHtml(report));
  });

  app.use(staticAssets());

  app.use('/api', (req, res) =>
    sendProblem(res, 404, 'Not found', `${req.method} ${req.originalUrl} is not a console API`),
  );

  app.use((error: Error, req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ err: error, url: req.originalUrl }, 'console request failed');
    if (res.headersSent) return res.destroy();
    sendProblem(res, 500, 'Console error', error.message);
  });
  return app;
}

/**
 * GET /workloads, or, from a runtime older than that endpoint, GET /deployments shown as
 * Deployments (same counters, no kind), so the page needs no fallback of its own.
 */
async function sendWorkloads(controlUrl: string, res: Response): Promise<void> {
  try {
    const answer = await fetch(`${controlUrl}/workloads`, { signal: AbortSignal.timeout(10_000) });
    if (answer.status !== 404) {
      res
        .status(answer.status)
        .type(answer.headers.get('content-type') ?? 'application/json')
        .send(await answer.text());
      return;
    }
    const old = await fetch(`${controlUrl}/deployments`, { signal: AbortSignal.timeout(10_000) });
    if (!old.ok) return sendProblem(res, old.status, 'Control API error', await old.text());
    const body = (await old.json()) as { items: Array<Record<string, unknown>> };
    res.json({ items: body.items.map((d) => ({ kind: 'Deployment', labels: {}, ...d })) });
  } catch (error) {
    sendProblem(
      res,
      502,
      'The runtime control API is not reachable',
      `${controlUrl} did not answer: ${(error as Error).message}. Start the platform with \`make up\`.`,
    );
  }
}

async function readReport(dir: string): Promise<ChaosReportLike | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'report.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as ChaosReportLike;
}

async function prometheusSettings(
  deps: ConsoleDeps,
): Promise<{ available: boolean; scrapeInterval: string; detail?: string; install?: string }> {
  if (deps.prometheusUrl === null) {
    return {
      available: false,
      scrapeInterval: DEFAULT_SCRAPE_INTERVAL,
      detail: 'the runtime runs no Prometheus',
      install: PROMETHEUS_INSTALL_HINT,
    };
  }
  try {
    const res = await fetch(`${deps.prometheusUrl}/api/v1/status/config`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { data?: { yaml?: string } };
    const m = /^global:[\s\S]*?^\s+scrape_interval:\s*(\S+)/m.exec(body.data?.yaml ?? '');
    return { available: true, scrapeInterval: m?.[1] ?? DEFAULT_SCRAPE_INTERVAL };
  } catch (error) {
    return {
      available: false,
      scrapeInterval: DEFAULT_SCRAPE_INTERVAL,
      detail: `${deps.prometheusUrl} did not answer: ${(error as Error).message}`,
      install: PROMETHEUS_INSTALL_HINT,
    };
  }
}
