import type { Router } from 'express';
import type { Logger } from 'pino';
import { PROMETHEUS_INSTALL_HINT } from '../problem.ts';
import { readOnlyProxy } from './read-only-proxy.ts';

/** Prometheus HTTP API paths the console reads (read-only; no admin or write endpoints). */
const PROMETHEUS_PATHS = [
  /^api\/v1\/query$/,
  /^api\/v1\/query_range$/,
  /^api\/v1\/labels$/,
  /^api\/v1\/label\/[A-Za-z_][A-Za-z0-9_]*\/values$/,
  /^api\/v1\/series$/,
  /^api\/v1\/status\/(config|buildinfo)$/,
];

/** Grafana's default scrape interval for a Prometheus data source, when Prometheus cannot say its own. */
const DEFAULT_SCRAPE_INTERVAL = '15s';

/** `GET /*path` proxied to the local Prometheus; 503 with the install command when there is none. */
export function prometheusRoutes(prometheusUrl: string | null, logger: Pick<Logger, 'warn'>): Router {
  return readOnlyProxy({
    name: 'Prometheus',
    upstreamUrl: prometheusUrl,
    paths: PROMETHEUS_PATHS,
    notProxied: {
      title: 'Not a Prometheus read endpoint',
      detail: (path) =>
        `/api/prometheus/${path} is not proxied; use api/v1/query, query_range, label/<name>/values, series`,
    },
    installHint: PROMETHEUS_INSTALL_HINT,
    unreachableDetail: (message) => `${message}. Is it running? ${PROMETHEUS_INSTALL_HINT}`,
    timeoutMs: 30_000,
    logger,
  });
}

/** Whether Prometheus answers, and its scrape interval (the `$__rate_interval` input) from its own config. */
export async function prometheusSettings(
  prometheusUrl: string | null,
): Promise<{ available: boolean; scrapeInterval: string; detail?: string; install?: string }> {
  if (prometheusUrl === null) {
    return {
      available: false,
      scrapeInterval: DEFAULT_SCRAPE_INTERVAL,
      detail: 'the runtime runs no Prometheus',
      install: PROMETHEUS_INSTALL_HINT,
    };
  }
  try {
    const res = await fetch(`${prometheusUrl}/api/v1/status/config`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { data?: { yaml?: string } };
    const m = /^global:[\s\S]*?^\s+scrape_interval:\s*(\S+)/m.exec(body.data?.yaml ?? '');
    return { available: true, scrapeInterval: m?.[1] ?? DEFAULT_SCRAPE_INTERVAL };
  } catch (error) {
    return {
      available: false,
      scrapeInterval: DEFAULT_SCRAPE_INTERVAL,
      detail: `${prometheusUrl} did not answer: ${(error as Error).message}`,
      install: PROMETHEUS_INSTALL_HINT,
    };
  }
}
