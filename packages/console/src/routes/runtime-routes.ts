import express, { type Response, type Router } from 'express';
import { sendProblem } from '../problem.ts';
import { pipeGet, UpstreamUnreachableError } from '../upstream.ts';
import { queryString, splatPath } from './request-parts.ts';

/** Control API paths the console reads (no kill or restart: the console only watches). */
const RUNTIME_PATHS = /^(replicas|workloads|deployments|status|events|traces|traces\/[0-9a-fA-F]{32})$/;

function unreachable(res: Response, detail: string): void {
  sendProblem(
    res,
    502,
    'The runtime control API is not reachable',
    `${detail}. Start the platform with \`make up\`.`,
  );
}

/** `GET /*path` proxied to the control API; `events` streams through as it happens. */
export function runtimeRoutes(controlUrl: string): Router {
  const router = express.Router();
  router.get('/*path', async (req, res) => {
    const path = splatPath(req);
    if (!RUNTIME_PATHS.test(path)) {
      return sendProblem(
        res,
        404,
        'Not a control API read endpoint',
        `/api/runtime/${path} is not proxied; use replicas, workloads, events, status, traces, traces/<traceId>`,
      );
    }
    if (path === 'workloads') return sendWorkloads(controlUrl, res);
    const headers: Record<string, string> = {};
    const lastEventId = req.get('last-event-id');
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    if (path === 'events') headers.accept = 'text/event-stream';
    try {
      await pipeGet(`${controlUrl}/${path}${queryString(req)}`, res, {
        headers,
        timeoutMs: path === 'events' ? undefined : 10_000,
      });
    } catch (error) {
      if (!(error instanceof UpstreamUnreachableError)) throw error;
      unreachable(res, error.message);
    }
  });
  return router;
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
    unreachable(res, `${controlUrl} did not answer: ${(error as Error).message}`);
  }
}
