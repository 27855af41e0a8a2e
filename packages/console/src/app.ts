import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { ALERTMANAGER_INSTALL_HINT, sendProblem } from './problem.ts';
import { alertmanagerRoutes } from './routes/alertmanager-routes.ts';
import { chaosRoutes } from './routes/chaos-routes.ts';
import { dashboardRoutes } from './routes/dashboard-routes.ts';
import { prometheusRoutes, prometheusSettings } from './routes/prometheus-routes.ts';
import { runtimeRoutes } from './routes/runtime-routes.ts';
import { staticAssets } from './static-assets.ts';

export interface ConsoleDeps {
  /** The runtime's control API, e.g. http://127.0.0.1:7070. */
  readonly controlUrl: string;
  /** The local Prometheus, or null when none runs (the live view still works). */
  readonly prometheusUrl: string | null;
  /** The local Alertmanager, or null when none runs (the Alerts panel then shows how to install it). */
  readonly alertmanagerUrl: string | null;
  /** monitoring/dashboards */
  readonly dashboardsDir: string;
  /** The chaos engine's report folder (its --report-dir, default reports/chaos): report.json is read there. */
  readonly reportsDir: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** Builds the console's Express app from what it is given; no I/O here. */
export function createConsoleApp(deps: ConsoleDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use('/api/dashboards', dashboardRoutes(deps.dashboardsDir));
  app.get('/api/settings', async (_req, res) => {
    res.json({
      controlUrl: deps.controlUrl,
      prometheus: await prometheusSettings(deps.prometheusUrl),
      alertmanager:
        deps.alertmanagerUrl === null
          ? { available: false, install: ALERTMANAGER_INSTALL_HINT }
          : { available: true, url: deps.alertmanagerUrl },
    });
  });
  app.use('/api/prometheus', prometheusRoutes(deps.prometheusUrl, deps.logger));
  app.use('/api/alertmanager', alertmanagerRoutes(deps.alertmanagerUrl, deps.logger));
  app.use('/api/runtime', runtimeRoutes(deps.controlUrl));
  app.use('/api/chaos', chaosRoutes(deps.reportsDir));
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
