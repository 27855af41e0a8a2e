import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  DependencyHttpError,
  httpStatusFor,
  ResilienceError,
  type HealthRegistry,
} from '@self-healing-shop/resilience';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './database-errors.ts';
import { adminGuard } from './admin-guard.ts';
import { httpMetrics } from './http-metrics.ts';
import { traceRequests } from './tracing/trace-context.ts';
import { metricsEndpoint } from './metrics-endpoint.ts';
import type { Pool } from './postgres.ts';
import type { FaultInjection } from './service-context.ts';
import { DomainError, problemBody, type ProblemBody } from './problem.ts';

export interface ServiceAppOptions {
  readonly service: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  /** ADMIN_TOKEN: the one guard of every `/admin/*` route (faults and audit). */
  readonly adminToken?: string | undefined;
  /** Mounted first among the routes (fault injection for chaos experiments), its admin API behind the guard. */
  readonly faultInjection?: { readonly middleware: RequestHandler; readonly adminRouter: express.Router };
  /** The service's read-only audit routes, mounted at `/admin/audit` behind the guard. */
  readonly audit?: (router: express.Router) => void;
  /** Largest accepted JSON body; larger ones get 413. */
  readonly bodyLimit?: string;
  /** Adds the service's own routes. */
  readonly routes: (app: Express) => void;
}

/** What a service's app is built from, whatever else it needs: the kit's context and its database pool. */
export interface ServiceAppDeps {
  /** A pool on a database migrated with the service's migrations. */
  readonly pool: Pool;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  readonly faults?: FaultInjection;
  /** ADMIN_TOKEN: guards `/admin/*` (faults and audit). */
  readonly adminToken?: string | undefined;
}

/** `createServiceApp` with the skeleton's options taken from a service's deps. */
export function createAppFromDeps(
  service: string,
  deps: ServiceAppDeps,
  parts: Pick<ServiceAppOptions, 'audit' | 'bodyLimit' | 'routes'>,
): Express {
  return createServiceApp({
    service,
    logger: deps.logger,
    registry: deps.registry,
    health: deps.health,
    ...(deps.faults ? { faultInjection: deps.faults } : {}),
    adminToken: deps.adminToken,
    ...parts,
  });
}

const PROBE_PATHS = new Set(['/health', '/ready', '/metrics']);
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The skeleton every service shares: request ids, request logs, HTTP metrics, JSON bodies, probes,
 * `/metrics`, problem+json for every error. No I/O happens here; `runService` listens.
 */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { logger, registry, health } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(traceRequests());
  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    const id = given && REQUEST_ID.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('x-request-id', id);
    next();
  });
  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => req.id,
      autoLogging: { ignore: (req) => PROBE_PATHS.has(req.url ?? '') },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      customSuccessMessage: () => 'request completed',
      customErrorMessage: () => 'request failed',
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(httpMetrics(registry));

  app.get('/health', (_req, res) => {
    res.json(health.liveness());
  });
  app.get('/ready', async (_req, res) => {
    const { ready, ...report } = await health.readiness();
    res.status(ready ? 200 : 503).json(report);
  });
  app.get('/metrics', metricsEndpoint(registry));

  // Every admin route passes the guard first: 403 without a configured token, 401 without the right one.
  app.use('/admin', adminGuard(options.adminToken));
  if (options.faultInjection) app.use(options.faultInjection.adminRouter);
  if (options.audit) {
    const audit = express.Router();
    options.audit(audit);
    app.use('/admin/audit', audit);
  }
  if (options.faultInjection) app.use(options.faultInjection.middleware);
  app.use(express.json({ limit: options.bodyLimit ?? '64kb' }));
  options.routes(app);

  app.use((req, _res, next) => {
    next(
      new DomainError(404, 'not-found', 'Not found', { detail: `No route for ${req.method} ${req.path}` }),
    );
  });
  app.use(errorHandler(options.service));
  return app;
}

function toDomainError(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error;
  // A lost database is an outage, not a bug: 503 so callers retry while probes take the replica out.
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailableError(error);
  if (
    error instanceof DependencyHttpError &&
    error.status !== undefined &&
    error.status < 500 &&
    error.status !== 429
  ) {
    // The dependency refused the request itself: a bug between services, not an outage.
    return new DomainError(502, 'dependency-rejected', 'Dependency rejected the request', {
      detail: `${error.dependency} answered ${error.status} to ${error.method} ${error.url}`,
      cause: error,
    });
  }
  if (error instanceof ResilienceError) {
    const retryAfter = String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000)));
    return new DomainError(httpStatusFor(error), 'dependency-unavailable', 'Dependency unavailable', {
      detail: `${error.dependency} is unavailable (${error.code}): ${error.message}`,
      headers: { 'retry-after': retryAfter },
      cause: error,
    });
  }
  const bodyError = error as { type?: string; status?: number; limit?: number; message?: string };
  if (bodyError?.type === 'entity.too.large') {
    return new DomainError(413, 'payload-too-large', 'Payload too large', {
      detail: `The request body is larger than the limit of ${bodyError.limit} bytes`,
    });
  }
  if (bodyError?.type === 'entity.parse.failed') {
    return new DomainError(400, 'malformed-json', 'Malformed JSON', {
      detail: `The request body is not valid JSON: ${bodyError.message}`,
    });
  }
  if (typeof bodyError?.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return new DomainError(bodyError.status, 'bad-request', 'Bad request', {
      detail: bodyError.message ?? 'bad request',
    });
  }
  return undefined;
}

function errorHandler(service: string): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const known = toDomainError(error);
    let body: ProblemBody;
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) res.setHeader(name, value);
      body = problemBody(known, req.originalUrl);
      if (known.status >= 500)
        req.log.warn({ err: error, service }, 'request failed: dependency unavailable');
    } else {
      req.log.error({ err: error, service }, 'unhandled error');
      body = {
        type: 'urn:problem:internal',
        title: 'Internal server error',
        status: 500,
        detail: `An unexpected error occurred; quote request id ${req.id} when reporting it`,
        instance: req.originalUrl,
      };
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(body.status).type('application/problem+json').send(JSON.stringify(body));
  };
}
