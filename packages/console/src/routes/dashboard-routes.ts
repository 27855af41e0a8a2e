import express, { type Router } from 'express';
import { DashboardFiles } from '../dashboards.ts';
import { sendProblem } from '../problem.ts';

/** `GET /` lists the dashboard files, `GET /:uid` serves one as it is on disk. */
export function dashboardRoutes(dashboardsDir: string): Router {
  const router = express.Router();
  const dashboards = new DashboardFiles(dashboardsDir);
  router.get('/', async (_req, res) => {
    res.json({ items: await dashboards.list() });
  });
  router.get('/:uid', async (req, res) => {
    const d = await dashboards.get(req.params.uid);
    if (!d) {
      return sendProblem(
        res,
        404,
        'Dashboard not found',
        `no dashboard with uid "${req.params.uid}" in ${dashboardsDir}`,
      );
    }
    res.json(d);
  });
  return router;
}
