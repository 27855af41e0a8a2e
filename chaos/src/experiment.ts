import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration.ts';

export const EXPERIMENTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../experiments');

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const fault = z
  .object({
    type: z.enum(['latency', 'error', 'abort', 'cpu']),
    route: z.string().startsWith('/').optional(),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
    probability: z.number().min(0).max(1).optional(),
    latencyMs: z.number().int().positive().optional(),
    status: z.number().int().min(400).max(599).optional(),
  })
  .strict()
  .refine((f) => f.type !== 'latency' || f.latencyMs !== undefined, {
    message: 'a latency fault needs latencyMs',
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
]);

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
      })
      .strict()
      .prefault({}),
    objectives: z
      .object({
        /** Judge the success ratio only on orders sent after the service recovered (outage experiments). */
        successAfterRecoveryOnly: z.boolean().default(false),
        /** p95 latency bound while a fault is active (ms). */
        latencyP95Max: duration.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Experiment = z.infer<typeof experimentSchema>;
export type ExperimentAction = Experiment['action'];
export type FaultDefinition = z.infer<typeof fault>;

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
