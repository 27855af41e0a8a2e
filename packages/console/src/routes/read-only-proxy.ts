import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { sendProblem } from '../problem.ts';
import { pipeGet, UpstreamUnreachableError } from '../upstream.ts';
import { queryString, splatPath } from './request-parts.ts';

export interface ReadOnlyProxy {
  /** `Prometheus`, `Alertmanager`: in the problems' titles and the logs. */
  readonly name: string;
  /** The upstream's base URL; null when the runtime runs none. */
  readonly upstreamUrl: string | null;
  /** The only paths passed on (GET, read endpoints). */
  readonly paths: readonly RegExp[];
  /** Title of the 404 for any other path, and its detail given the path asked for. */
  readonly notProxied: { readonly title: string; readonly detail: (path: string) => string };
  /** The install command, in every 503. */
  readonly installHint: string;
  /** Detail of the 503 when the upstream does not answer, given the error's message. */
  readonly unreachableDetail: (message: string) => string;
  readonly timeoutMs: number;
  readonly logger: Pick<Logger, 'warn'>;
}

/**
 * `GET /*path` proxied to a local upstream for the listed read endpoints only: 503 with the install
 * command when there is no upstream or it does not answer, 404 for any other path.
 */
export function readOnlyProxy(proxy: ReadOnlyProxy): Router {
  const router = express.Router();
  const install = { install: proxy.installHint };
  router.get('/*path', async (req, res) => {
    const path = splatPath(req);
    if (proxy.upstreamUrl === null) {
      const detail = `The local runtime runs no ${proxy.name}. ${proxy.installHint}`;
      return sendProblem(res, 503, `${proxy.name} is not running`, detail, install);
    }
    if (!proxy.paths.some((p) => p.test(path))) {
      return sendProblem(res, 404, proxy.notProxied.title, proxy.notProxied.detail(path));
    }
    try {
      await pipeGet(`${proxy.upstreamUrl}/${path}${queryString(req)}`, res, { timeoutMs: proxy.timeoutMs });
    } catch (error) {
      if (!(error instanceof UpstreamUnreachableError)) throw error;
      proxy.logger.warn({ err: error }, `${proxy.name.toLowerCase()} unreachable`);
      const title = `${proxy.name} is not reachable`;
      sendProblem(res, 503, title, proxy.unreachableDetail(error.message), install);
    }
  });
  return router;
}
