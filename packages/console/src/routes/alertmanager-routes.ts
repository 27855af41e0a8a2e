import type { Router } from 'express';
import type { Logger } from 'pino';
import { ALERTMANAGER_INSTALL_HINT } from '../problem.ts';
import { readOnlyProxy } from './read-only-proxy.ts';

/** Alertmanager API v2 paths the console reads (GET only: nothing is silenced or posted through it). */
const ALERTMANAGER_PATHS = [
  /^api\/v2\/alerts$/,
  /^api\/v2\/alerts\/groups$/,
  /^api\/v2\/silences$/,
  /^api\/v2\/status$/,
];

/** `GET /*path` proxied to the local Alertmanager; 503 with the install command when there is none. */
export function alertmanagerRoutes(alertmanagerUrl: string | null, logger: Pick<Logger, 'warn'>): Router {
  return readOnlyProxy({
    name: 'Alertmanager',
    upstreamUrl: alertmanagerUrl,
    paths: ALERTMANAGER_PATHS,
    notProxied: {
      title: 'Not an Alertmanager read endpoint',
      detail: (path) =>
        `/api/alertmanager/${path} is not proxied; use api/v2/alerts, alerts/groups, silences, status`,
    },
    installHint: ALERTMANAGER_INSTALL_HINT,
    unreachableDetail: (message) => `${message}. ${ALERTMANAGER_INSTALL_HINT}`,
    timeoutMs: 10_000,
    logger,
  });
}
