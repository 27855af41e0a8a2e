import { randomUUID } from 'node:crypto';
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { startCpuBurn, type CpuBurn } from './cpu-burn.ts';
import { freezeEventLoop } from './freeze.ts';
import {
  FAULT_TYPES,
  InvalidFaultSpecError,
  parseFaultSpec,
  type Fault,
  type FaultSpec,
  type FaultSpecProblem,
} from './fault-spec.ts';

export {
  FAULT_HTTP_METHODS,
  FAULT_TYPES,
  InvalidFaultSpecError,
  parseFaultSpec,
  type Fault,
  type FaultHttpMethod,
  type FaultSpec,
  type FaultSpecProblem,
  type FaultType,
  type ValidFaultSpec,
} from './fault-spec.ts';

export interface FaultInjectionOptions {
  /** Off unless true: the middleware passes through and the admin API answers 404. */
  readonly enabled: boolean;
  readonly registry: Registry;
  readonly logger: Logger;
  /** For `createdAt`/`expiresAt` and expiry checks; defaults to `Date.now`. */
  readonly clock?: { now(): number };
  /** In [0, 1); a fault fires when `random() < probability` (only drawn when 0 < probability < 1). */
  readonly random?: () => number;
  /** Busy slice of a cpu fault (default 50 ms): the most a cpu fault delays other requests. */
  readonly cpuSliceMs?: number;
}

export interface FaultInjection {
  readonly enabled: boolean;
  /** Mount before the routes; injects the active faults into matching requests. */
  readonly middleware: RequestHandler;
  /**
   * Serves `/admin/faults`; mount at the root behind an admin guard (the service kit mounts it behind
   * its `x-admin-token` guard): this router authenticates nobody by itself.
   */
  readonly adminRouter: Router;
  list(): Fault[];
  /**
   * Validates the spec (throws InvalidFaultSpecError) and activates it; a cpu fault starts burning at
   * once, a freeze blocks the event loop from the next turn of the loop (after the caller returns).
   */
  add(spec: FaultSpec): Fault;
  /** False when no fault has this id. */
  remove(id: string): boolean;
  clear(): void;
  /** True while a cpu fault is burning. */
  isBurningCpu(): boolean;
  /** Removes every fault, stops burns and timers. */
  dispose(): void;
}

const ADMIN_PATH = '/admin/faults';
/** Never faulted unless a fault names them in `route`: probes, metrics and the admin APIs. */
const EXCLUDED_BY_DEFAULT = ['/health', '/ready', '/metrics', '/admin'];

interface ActiveFault {
  readonly fault: Fault;
  readonly expiresAtMs: number | null;
  timer?: NodeJS.Timeout;
  burn?: CpuBurn;
}

const counters = new WeakMap<Registry, Counter<'type'>>();

function injectedCounter(registry: Registry): Counter<'type'> {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'faults_injected_total',
      help: 'Faults injected into requests (latency, error, abort), cpu burns and freezes started.',
      labelNames: ['type'],
      registers: [registry],
    });
    for (const type of FAULT_TYPES) counter.inc({ type }, 0);
    counters.set(registry, counter);
  }
  return counter;
}

/**
 * Chaos-engineering faults for one replica: latency, error status, connection abort (by route,
 * method and probability), CPU burn and event-loop freeze, managed through an admin API.
 */
export function createFaultInjection(options: FaultInjectionOptions): FaultInjection {
  if (!options.enabled) return disabledFaultInjection();
  const { logger } = options;
  const clock = options.clock ?? Date;
  const random = options.random ?? Math.random;
  const counter = injectedCounter(options.registry);
  const active = new Map<string, ActiveFault>();

  function add(spec: FaultSpec): Fault {
    const { fault, freeze } = activate(spec);
    if (freeze) setImmediate(freeze);
    return fault;
  }

  /** Activates a fault; a freeze is returned to be started by the caller once its answer is out. */
  function activate(spec: FaultSpec): { fault: Fault; freeze?: () => void } {
    const valid = parseFaultSpec(spec);
    const now = clock.now();
    const expiresAtMs = valid.durationMs === undefined ? null : now + valid.durationMs;
    const fault: Fault = Object.freeze({
      id: randomUUID(),
      ...valid,
      createdAt: new Date(now).toISOString(),
      expiresAt: expiresAtMs === null ? null : new Date(expiresAtMs).toISOString(),
    });
    const entry: ActiveFault = { fault, expiresAtMs };
    active.set(fault.id, entry);
    if (valid.durationMs !== undefined) {
      entry.timer = setTimeout(() => removeEntry(fault.id, 'expired'), valid.durationMs).unref();
    }
    logger.info({ fault }, 'fault added');
    if (fault.type === 'cpu' && valid.durationMs !== undefined) {
      counter.inc({ type: 'cpu' });
      entry.burn = startCpuBurn({
        durationMs: valid.durationMs,
        ...(options.cpuSliceMs !== undefined ? { sliceMs: options.cpuSliceMs } : {}),
        onEnd: () => removeEntry(fault.id, 'expired'),
      });
    }
    if (fault.type === 'freeze' && valid.durationMs !== undefined) {
      const durationMs = valid.durationMs;
      return {
        fault,
        freeze: () => {
          counter.inc({ type: 'freeze' });
          logger.warn({ faultId: fault.id, durationMs }, 'freezing the event loop');
          // Its expiry timer (due by now) removes the fault before any request waiting is read.
          freezeEventLoop(durationMs);
        },
      };
    }
    return { fault };
  }

  function removeEntry(id: string, reason: 'deleted' | 'expired' | 'cleared'): boolean {
    const entry = active.get(id);
    if (!entry) return false;
    active.delete(id);
    clearTimeout(entry.timer);
    const burnedMs = entry.burn ? Math.round(entry.burn.burnedMs) : undefined;
    entry.burn?.stop();
    logger.info(
      { faultId: id, type: entry.fault.type, reason, ...(burnedMs !== undefined ? { burnedMs } : {}) },
      'fault removed',
    );
    return true;
  }

  /** The faults still active, dropping those whose time has come even if their timer has not fired yet. */
  function current(): ActiveFault[] {
    const now = clock.now();
    for (const entry of [...active.values()]) {
      if (entry.expiresAtMs !== null && entry.expiresAtMs <= now) removeEntry(entry.fault.id, 'expired');
    }
    return [...active.values()];
  }

  const fires = (probability: number): boolean =>
    probability >= 1 ? true : probability <= 0 ? false : random() < probability;

  const middleware: RequestHandler = (req, res, next) => {
    if (active.size === 0) return next();
    const path = pathOf(req);
    if (matchesPrefix(path, ADMIN_PATH)) return next();
    let delayMs = 0;
    let terminal: Fault | undefined;
    for (const { fault } of current()) {
      if (
        fault.type === 'cpu' ||
        fault.type === 'freeze' ||
        !appliesTo(fault, req.method, path) ||
        !fires(fault.probability)
      )
        continue;
      counter.inc({ type: fault.type });
      logger.debug({ faultId: fault.id, type: fault.type, method: req.method, path }, 'fault injected');
      if (fault.type === 'latency') {
        delayMs += fault.latencyMs ?? 0;
      } else {
        // The first error or abort decides the outcome; later ones are not drawn.
        terminal = fault;
        break;
      }
    }
    const proceed = (): void => {
      if (!terminal) return next();
      if (terminal.type === 'abort') {
        req.socket.destroy();
        return;
      }
      const status = terminal.status ?? 503;
      sendProblem(res, status, 'injected-fault', 'Injected fault', `injected fault ${terminal.id}`);
    };
    if (delayMs === 0) return proceed();
    const timer = setTimeout(proceed, delayMs);
    // A client that gives up during the delay needs no response.
    res.once('close', () => clearTimeout(timer));
  };

  const bodyErrors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    const status = httpStatusOf(error);
    if (status === undefined || status >= 500) return next(error);
    const detail = error instanceof Error ? error.message : 'the request body could not be read';
    sendProblem(res, status, 'validation', 'Invalid request', detail, [{ path: '(root)', message: detail }]);
  };

  const adminRouter = express.Router();
  adminRouter.use(ADMIN_PATH, express.json({ limit: '16kb' }));
  adminRouter.get(ADMIN_PATH, (_req, res) => {
    res.json({ items: current().map((entry) => entry.fault) });
  });
  adminRouter.post(ADMIN_PATH, (req: Request, res: Response) => {
    let fault: Fault;
    let freeze: (() => void) | undefined;
    try {
      ({ fault, freeze } = activate(req.body as FaultSpec));
    } catch (error) {
      if (!(error instanceof InvalidFaultSpecError)) throw error;
      return sendProblem(res, 400, 'validation', 'Invalid request', error.message, error.errors);
    }
    // The answer goes out first, then the loop blocks: the caller learns the freeze started.
    if (freeze) res.once('finish', () => setImmediate(freeze));
    res.status(201).location(`${req.baseUrl}${ADMIN_PATH}/${fault.id}`).json(fault);
  });
  adminRouter.delete(ADMIN_PATH, (_req, res) => {
    clear();
    res.status(204).end();
  });
  adminRouter.delete(`${ADMIN_PATH}/:id`, (req, res) => {
    if (removeEntry(req.params.id, 'deleted')) return void res.status(204).end();
    sendProblem(res, 404, 'not-found', 'Not found', `no fault with id ${req.params.id}`);
  });
  adminRouter.use(ADMIN_PATH, bodyErrors);

  function clear(): void {
    for (const id of [...active.keys()]) removeEntry(id, 'cleared');
  }

  return {
    enabled: true,
    middleware,
    adminRouter,
    list: () => current().map((entry) => entry.fault),
    add,
    remove: (id) => removeEntry(id, 'deleted'),
    clear,
    isBurningCpu: () => [...active.values()].some((entry) => entry.burn?.running === true),
    dispose: clear,
  };
}

function disabledFaultInjection(): FaultInjection {
  const adminRouter = express.Router();
  adminRouter.all([ADMIN_PATH, `${ADMIN_PATH}/:id`], (_req, res) => {
    sendProblem(res, 404, 'not-found', 'Not found', 'fault injection is disabled on this replica');
  });
  return {
    enabled: false,
    middleware: (_req, _res, next) => next(),
    adminRouter,
    list: () => [],
    add: () => {
      throw new Error('fault injection is disabled (FAULT_INJECTION_ENABLED=false)');
    },
    remove: () => false,
    clear: () => {},
    isBurningCpu: () => false,
    dispose: () => {},
  };
}

function pathOf(req: Request): string {
  const url = req.originalUrl;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Prefix match on whole path segments: `/orders` matches `/orders` and `/orders/1`, not `/orders-x`. */
function matchesPrefix(path: string, prefix: string): boolean {
  if (prefix === '/' || path === prefix) return true;
  return path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

function appliesTo(fault: Fault, method: string, path: string): boolean {
  if (fault.method !== undefined && fault.method !== method) return false;
  if (fault.route !== undefined) return matchesPrefix(path, fault.route);
  return !EXCLUDED_BY_DEFAULT.some((prefix) => matchesPrefix(path, prefix));
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

function sendProblem(
  res: Response,
  status: number,
  slug: string,
  title: string,
  detail: string,
  errors?: readonly FaultSpecProblem[],
): void {
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: `urn:problem:${slug}`,
      title,
      status,
      detail,
      ...(errors && errors.length > 0 ? { errors } : {}),
    });
}
