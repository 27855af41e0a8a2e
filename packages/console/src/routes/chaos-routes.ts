import express, { type Router } from 'express';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sendProblem } from '../problem.ts';
import { renderReportHtml } from '../report-html.ts';
import type { ChaosReportLike } from '../report-types.ts';

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

/** `GET /report` (report.json as written) and `GET /report.html` (rendered), 404 with a hint before any run. */
export function chaosRoutes(reportsDir: string): Router {
  const router = express.Router();
  const none = `No report.json in ${reportsDir}: run \`make chaos\` (pnpm chaos run pod-kill --target local).`;
  router.get('/report', async (_req, res) => {
    const report = await readReport(reportsDir);
    if (!report) return sendProblem(res, 404, 'No chaos report yet', none);
    res.json(report);
  });
  router.get('/report.html', async (_req, res) => {
    const report = await readReport(reportsDir);
    if (!report) return sendProblem(res, 404, 'No chaos report yet', none);
    res.type('html').send(renderReportHtml(report));
  });
  return router;
}
