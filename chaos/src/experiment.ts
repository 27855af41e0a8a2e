import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidFaultSpecError, parseFaultSpec, type FaultSpec } from '@self-healing-shop/fault-injection';
import { parseDuration } from '@self-healing-shop/loadgen';

export const EXPERIMENTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../experiments');

/** Durations always carry a unit (`10s`); see loadgen's parseDuration. */
const duration = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** The fault-injection package's own validation, so the file and the services agree on every field. */
const fault = z.unknown().transform((value, ctx): FaultSpec => {
  try {
    parseFaultSpec(value);
  } catch (error) {
    if (!(error instanceof InvalidFaultSpecError)) throw error;
    for (const problem of error.errors) {
      const path = problem.path === '(root)' ? [] : problem.path.split('.');
      ctx.addIssue({ code: 'custom', message: problem.message, path });
    }
    return z.NEVER;
  }
  return value as FaultSpec;
});

const action = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('pod-kill'),
      /** Deployment to hit; a random one (seeded) each round when absent. */
      workload: z.string().optional(),
    })
    .strict(),
  z.object({ kind: z.literal('pod-kill-all'), workload: z.string() }).strict(),
  z.object({ kind: z.literal('fault'), workload: z.string(), fault, duration }).strict(),
  z
    .object({
      kind: z.literal('dependency-outage'),
      workload: z.string(),
      fault,
      duration,
      /** How long after the outage every confirmation may take to be delivered. */
      deliveryDeadline: duration,
    })
    .strict(),
  z
    .object({
      kind: z.literal('cpu-stress'),
      workload: z.string(),
      duration,
      /** The auto-scaler must add a replica within this time of the stress starting. */
      scaleOutDeadline: duration,
      /** ... and be back to the minimum within this time of the stress ending (its stabilisation window). */
      scaleInDeadline: duration,
    })
    .strict(),
  z
    .object({
      kind: z.literal('pod-freeze'),
      /** Deployment to hit; a random one (seeded) each round when absent. */
      workload: z.string().optional(),
      /** How long the replica stays frozen. */
      duration,
    })
    .strict(),
  z.object({ kind: z.literal('database-kill') }).strict(),
  z
    .object({
      kind: z.literal('burst'),
      /** Orders sent at once, all for the same product. */
      orders: z.number().int().min(1).max(5000),
      productId: z.string().min(1),
      quantity: z.number().int().min(1).default(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal('cpu-contention'),
      /** Deployment to hit; a random one (seeded) each round when absent. */
      workload: z.string().optional(),
      /** The CPU burners stop after this even if the run goes on (they also stop when it ends). */
      maxDuration: duration.default(600_000),
    })
    .strict(),
]);

/** An alert rule's name as Prometheus accepts it (monitoring/rules/*.yaml `alert:`). */
const alertName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an alert rule name, e.g. CircuitBreakerOpen');

/**
 * The alerts the experiment proves (issue 14): read from Alertmanager's API while the action runs and
 * after it, until `within` has passed since the first round began (or every expected one fired).
 */
const alerts = z
  .object({
    /** Must fire (a new alert of that name in Alertmanager) within `within` of the action's start. */
    expected: z.array(alertName).default([]),
    /** Must not fire (no new alert of that name) while the alerts are watched. */
    silent: z.array(alertName).default([]),
    /** How long after the action starts the alerts are watched; choose it from the rules' `for:`. */
    within: duration,
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.expected.length === 0 && value.silent.length === 0)
      ctx.addIssue({ code: 'custom', message: 'name at least one expected or silent alert' });
    for (const name of value.expected.filter((n) => value.silent.includes(n)))
      ctx.addIssue({
        code: 'custom',
        message: `${name} cannot be both expected and silent`,
        path: ['silent'],
      });
  });

export const experimentSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    description: z.string().min(1),
    /** True when the action is meant to take a service down (the last ready replica may be killed). */
    outage: z.boolean().default(false),
    action,
    defaults: z
      .object({
        rounds: z.number().int().positive().default(1),
        interval: duration.default(10_000),
        mttrSlo: duration.default(30_000),
        minSuccess: z.number().min(0).max(1).default(0.99),
        loadRate: z.number().positive().default(50),
        recoveryTimeout: duration.default(120_000),
      })
      .strict()
      .prefault({}),
    steadyState: z
      .object({
        /** Probe orders sent before and after; all must succeed. */
        probeOrders: z.number().int().min(0).default(3),
        /** How long to wait for every Deployment to be at full strength again after the action. */
        timeout: duration.default(60_000),
        /** How long to wait for the platform to settle (no pending order, outbox empty) before the invariants. */
        quietTimeout: duration.default(120_000),
      })
      .strict()
      .prefault({}),
    objectives: z
      .object({
        /** Judge the success ratio only on orders sent after the service recovered (outage experiments). */
        successAfterRecoveryOnly: z.boolean().default(false),
        /** p95 latency bound while a fault is active (ms). */
        latencyP95Max: duration.optional(),
        /** Check the data invariants on a quiet platform after the run (audit API of every service). */
        invariants: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Alerts that must fire and alerts that must stay silent (Alertmanager's API); absent: not judged. */
    alerts: alerts.optional(),
  })
  .strict();

export type Experiment = z.infer<typeof experimentSchema>;
export type ExperimentAction = Experiment['action'];
export type ExperimentAlerts = NonNullable<Experiment['alerts']>;
export type FaultDefinition = FaultSpec;

export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

/** Validates an experiment object; the error lists every bad field with its path. */
export function parseExperiment(data: unknown, source = 'experiment'): Experiment {
  const result = experimentSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ExperimentError(`${source} is not a valid experiment:\n${problems.join('\n')}`);
  }
  return result.data;
}

function parseFile(text: string, file: string): unknown {
  try {
    return extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ExperimentError(`${file} cannot be parsed: ${(error as Error).message}`);
  }
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Loads a built-in experiment by name (chaos/experiments/<name>.yaml) or a file by path. */
export async function loadExperiment(nameOrPath: string, dir = EXPERIMENTS_DIR): Promise<Experiment> {
  const candidates = EXTENSIONS.includes(extname(nameOrPath))
    ? [resolve(nameOrPath)]
    : EXTENSIONS.map((ext) => join(dir, `${nameOrPath}${ext}`));
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const experiment = parseExperiment(parseFile(text, file), file);
    if (!EXTENSIONS.includes(extname(nameOrPath)) && experiment.name !== basename(file, extname(file))) {
      throw new ExperimentError(`${file}: name "${experiment.name}" must match the file name`);
    }
    return experiment;
  }
  const known = (await listExperiments(dir)).map((e) => e.name).join(', ');
  throw new ExperimentError(
    `unknown experiment "${nameOrPath}"; known: ${known} (or pass a .yaml/.json path)`,
  );
}

export async function listExperiments(dir = EXPERIMENTS_DIR): Promise<Experiment[]> {
  const files = (await readdir(dir)).filter((f) => EXTENSIONS.includes(extname(f))).sort();
  return Promise.all(files.map((f) => loadExperiment(basename(f, extname(f)), dir)));
}
