import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { ALERTMANAGER_INSTALL_HINT, sendProblem } from '../problem.ts';
import { pipeGet, UpstreamUnreachableError } from '../upstream.ts';
import { queryString, splatPath } from './request-parts.ts';

/** Alertmanager API v2 paths the console reads (GET only: nothing is silenced or posted through it). */
const ALERTMANAGER_PATHS = [
  /^api\/v2\/alerts$/,
  /^api\/v2\/alerts\/groups$/,
  /^api\/v2\/silences$/,
  /^api\/v2\/status$/,
];

/** `GET /*path` proxied to the local Alertmanager; 503 with the install command when there is none. */
export function alertmanagerRoutes(alertmanagerUrl: string | null, logger: Pick<Logger, 'warn'>): Router {
  const router = express.Router();
  router.get('/*path', async (req, res) => {
    const path = splatPath(req);
    if (alertmanagerUrl === null) {
      return sendProblem(
        res,
        503,
        'Alertmanager is not running',
        `The local runtime runs no Alertmanager. ${ALERTMANAGER_INSTALL_HINT}`,
        { install: ALERTMANAGER_INSTALL_HINT },
      );
    }
    if (!ALERTMANAGER_PATHS.some((p) => p.test(path))) {
      return sendProblem(
        res,
        404,
        'Not an Alertmanager read endpoint',
        `/api/alertmanager/${path} is not proxied; use api/v2/alerts, alerts/groups, silences, status`,
      );
    }
    try {
      await pipeGet(`${alertmanagerUrl}/${path}${queryString(req)}`, res, { timeoutMs: 10_000 });
    } catch (error) {
      if (!(error instanceof UpstreamUnreachableError)) throw error;
      logger.warn({ err: error }, 'alertmanager unreachable');
      sendProblem(
        res,
        503,
        'Alertmanager is not reachable',
        `${error.message}. ${ALERTMANAGER_INSTALL_HINT}`,
        {
          install: ALERTMANAGER_INSTALL_HINT,
        },
      );
    }
  });
  return router;
}
