import { LABELS, NAMESPACE } from '@self-healing-shop/contracts';
import type { WorkloadKind } from '@self-healing-shop/contracts';
import { z } from 'zod';
import { ManifestError } from './manifest-error.ts';
import type { ManifestDocument } from './manifest-files.ts';
import { parseCpuQuantity } from './quantity.ts';

export const UNSUPPORTED = 'is not supported by the local runtime';

/** A probe, durations in milliseconds: an HTTP GET (path, headers), or an exec probe (command). */
export interface ProbeSpec {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** An exec probe's command (the database's `pg_isready`), run by the runtime as its equivalent. */
  readonly command?: readonly string[];
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** Where a container environment variable's value comes from. */
export type EnvSource =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'field'; readonly fieldPath: 'metadata.name' | 'metadata.namespace' | 'status.podIP' };

/** What every replica of a workload shares, whatever its kind: what `Replica` runs and probes. */
export interface PodSpec {
  /** The workload's name (Deployment or StatefulSet). */
  readonly name: string;
  readonly kind: WorkloadKind;
  /** The workload's `metadata.labels`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The pod template's labels: every replica carries them (the chaos engine reads the protected label). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** `app.kubernetes.io/name` (else the workload name): names the service folder and the front port. */
  readonly service: string;
  readonly namespace: string;
  readonly file: string;
  readonly containerName: string;
  readonly startupProbe?: ProbeSpec;
  readonly livenessProbe?: ProbeSpec;
  readonly readinessProbe?: ProbeSpec;
  readonly preStopSleepMs: number;
  readonly terminationGracePeriodMs: number;
  /** The signal that asks the process to stop (the image's STOPSIGNAL; PostgreSQL's image says SIGINT). */
  readonly stopSignal: NodeJS.Signals;
}

export interface DeploymentSpec extends PodSpec {
  readonly kind: 'Deployment';
  readonly replicas: number;
  readonly maxSurge: number | string;
  readonly maxUnavailable: number | string;
  readonly httpPort: number;
  readonly env: ReadonlyArray<{ readonly name: string; readonly source: EnvSource }>;
  readonly cpuRequestCores?: number;
  /** spec.progressDeadlineSeconds (default 600, as Kubernetes): a rollout without progress for this long is rolled back. */
  readonly progressDeadlineSeconds: number;
  /** Variables set by a rollout (`rollout --env`): applied last, over what the runtime injects. */
  readonly envOverrides?: Readonly<Record<string, string>>;
}

const unsupported = () => z.undefined({ error: UNSUPPORTED }).optional();
const seconds = (min: number, fallback: number) => z.number().int().min(min).default(fallback);
const intOrPercent = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+%$/, 'must be an integer or a percentage'),
]);

/** A probe's timing fields with Kubernetes' defaults, the same for every kind of probe and workload. */
export const probeTimings = {
  initialDelaySeconds: seconds(0, 0),
  periodSeconds: seconds(1, 10),
  timeoutSeconds: seconds(1, 1),
  successThreshold: seconds(1, 1),
  failureThreshold: seconds(1, 3),
};

const probeSchema = z
  .object({
    httpGet: z
      .object({
        path: z.string().startsWith('/').default('/'),
        port: z.union([z.number().int(), z.string()]),
        scheme: z.literal('HTTP', { error: `${UNSUPPORTED} (only HTTP)` }).optional(),
        host: unsupported(),
        httpHeaders: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
      })
      .optional(),
    exec: unsupported(),
    grpc: unsupported(),
    tcpSocket: unsupported(),
    terminationGracePeriodSeconds: unsupported(),
    ...probeTimings,
  })
  .superRefine((probe, context) => {
    if (!probe.httpGet) context.addIssue({ code: 'custom', path: ['httpGet'], message: 'is required' });
  });

const keyRef = z.object({
  name: z.string().min(1),
  key: z.string().min(1),
  optional: z.boolean().optional(),
});
const envVarSchema = z.object({
  name: z.string().min(1),
  value: z.string({ error: 'must be a string (quote it)' }).optional(),
  valueFrom: z
    .object({
      configMapKeyRef: keyRef.optional(),
      secretKeyRef: keyRef.optional(),
      fieldRef: z
        .object({
          fieldPath: z.enum(['metadata.name', 'metadata.namespace', 'status.podIP'], {
            error: `${UNSUPPORTED} (metadata.name, metadata.namespace, status.podIP are)`,
          }),
        })
        .optional(),
      resourceFieldRef: unsupported(),
    })
    .optional(),
});
const refSchema = z.object({ name: z.string().min(1), optional: z.boolean().optional() });

const containerSchema = z.object({
  name: z.string().min(1),
  ports: z
    .array(z.object({ name: z.string().optional(), containerPort: z.number().int().min(1).max(65535) }))
    .min(1, 'must declare the http port'),
  env: z.array(envVarSchema).optional(),
  envFrom: z
    .array(
      z.object({
        configMapRef: refSchema.optional(),
        secretRef: refSchema.optional(),
        prefix: z.string().optional(),
      }),
    )
    .optional(),
  startupProbe: probeSchema.optional(),
  livenessProbe: probeSchema.optional(),
  readinessProbe: probeSchema.optional(),
  resources: z
    .object({
      requests: z
        .object({ cpu: z.union([z.string(), z.number()]).optional() })
        .loose()
        .optional(),
    })
    .loose()
    .optional(),
  lifecycle: z
    .object({
      preStop: z
        .object({
          sleep: z.object({ seconds: z.number().int().min(0) }).optional(),
          exec: unsupported(),
          httpGet: unsupported(),
        })
        .optional(),
      postStart: unsupported(),
    })
    .optional(),
});

const deploymentSchema = z.object({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.object({
    replicas: z.number().int().min(0).default(1),
    progressDeadlineSeconds: z.number().int().min(1).default(600),
    strategy: z
      .object({
        type: z.enum(['RollingUpdate', 'Recreate']).default('RollingUpdate'),
        rollingUpdate: z
          .object({ maxSurge: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() })
          .optional(),
      })
      .optional(),
    template: z.object({
      metadata: z
        .object({ labels: z.record(z.string(), z.string()).optional() })
        .loose()
        .optional(),
      spec: z.object({
        initContainers: unsupported(),
        terminationGracePeriodSeconds: seconds(0, 30),
        containers: z.array(containerSchema).min(1).max(1, `with more than one container ${UNSUPPORTED}`),
      }),
    }),
  }),
});

type RawProbe = z.infer<typeof probeSchema>;
type RawContainer = z.infer<typeof containerSchema>;

/** `spec.template.spec.containers[0].livenessProbe.exec` from zod's path. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

/** Throws a ManifestError naming every invalid field of the object. */
export function parseObject<T>(schema: z.ZodType<T>, document: ManifestDocument, label: string): T {
  const result = schema.safeParse(document.object);
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues.map((issue) => {
    const problem =
      issue.message.startsWith(UNSUPPORTED) || /^(is|must|with) /.test(issue.message)
        ? issue.message
        : `is invalid: ${issue.message}`;
    return { field: fieldPath(issue.path) || '(root)', problem };
  });
  const more = rest.map((issue) => `\n  also ${issue.field} ${issue.problem}`).join('');
  throw new ManifestError(document.file, label, first!.field, first!.problem + more);
}

function probeSpec(
  probe: RawProbe | undefined,
  container: RawContainer,
  field: string,
  fail: (f: string, p: string) => never,
): ProbeSpec | undefined {
  if (!probe?.httpGet) return undefined;
  const { port } = probe.httpGet;
  const http = container.ports.find((p) => p.name === 'http') ?? container.ports[0]!;
  const matches = typeof port === 'number' ? port === http.containerPort : port === http.name;
  if (!matches) {
    fail(
      `${field}.httpGet.port`,
      `(${port}) must be the container's http port (${http.name ?? http.containerPort}): the local runtime serves one port per replica`,
    );
  }
  return {
    path: probe.httpGet.path,
    headers: Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value])),
    initialDelayMs: probe.initialDelaySeconds * 1000,
    periodMs: probe.periodSeconds * 1000,
    timeoutMs: probe.timeoutSeconds * 1000,
    successThreshold: probe.successThreshold,
    failureThreshold: probe.failureThreshold,
  };
}

type ManifestData = {
  readonly configMaps: ReadonlyMap<string, Record<string, string>>;
  readonly secrets: ReadonlyMap<string, Record<string, string>>;
};

/** The container's environment: `envFrom` first, then `env` (later names win), references resolved. */
function containerEnv(
  container: RawContainer,
  data: ManifestData,
  fail: (field: string, problem: string) => never,
): Array<{ name: string; source: EnvSource }> {
  const base = 'spec.template.spec.containers[0]';
  const env: Array<{ name: string; source: EnvSource }> = [];
  const set = (envName: string, source: EnvSource) => {
    const at = env.findIndex((e) => e.name === envName);
    if (at >= 0) env.splice(at, 1);
    env.push({ name: envName, source });
  };
  const lookup = (
    kind: 'configMaps' | 'secrets',
    ref: { name: string; optional?: boolean | undefined },
    field: string,
  ) => {
    const values = data[kind].get(ref.name);
    if (!values && !ref.optional)
      fail(
        field,
        `names ${kind === 'configMaps' ? 'ConfigMap' : 'Secret'} ${ref.name}, which is not in the manifests`,
      );
    return values;
  };
  for (const [i, from] of (container.envFrom ?? []).entries()) {
    const field = `${base}.envFrom[${i}]`;
    const values = from.configMapRef
      ? lookup('configMaps', from.configMapRef, `${field}.configMapRef.name`)
      : from.secretRef
        ? lookup('secrets', from.secretRef, `${field}.secretRef.name`)
        : fail(field, 'must have configMapRef or secretRef');
    for (const [key, value] of Object.entries(values ?? {}))
      set(`${from.prefix ?? ''}${key}`, { kind: 'value', value });
  }
  for (const [i, variable] of (container.env ?? []).entries()) {
    const field = `${base}.env[${i}]`;
    const from = variable.valueFrom;
    if (variable.value !== undefined || !from) {
      set(variable.name, { kind: 'value', value: variable.value ?? '' });
    } else if (from.fieldRef) {
      set(variable.name, { kind: 'field', fieldPath: from.fieldRef.fieldPath });
    } else {
      const [kind, ref, refField] = from.configMapKeyRef
        ? (['configMaps', from.configMapKeyRef, 'configMapKeyRef'] as const)
        : from.secretKeyRef
          ? (['secrets', from.secretKeyRef, 'secretKeyRef'] as const)
          : fail(`${field}.valueFrom`, 'must have configMapKeyRef, secretKeyRef or fieldRef');
      const values = lookup(kind, ref, `${field}.valueFrom.${refField}.name`);
      const value = values?.[ref.key];
      if (value === undefined && !ref.optional) {
        fail(
          `${field}.valueFrom.${refField}.key`,
          `names key ${ref.key}, which ${kind === 'configMaps' ? 'ConfigMap' : 'Secret'} ${ref.name} does not have`,
        );
      }
      if (value !== undefined) set(variable.name, { kind: 'value', value });
    }
  }

  return env;
}

/** Reads a Deployment into what the local runtime needs, resolving ConfigMap and Secret references. */
export function deploymentSpec(
  document: ManifestDocument,
  data: {
    readonly configMaps: ReadonlyMap<string, Record<string, string>>;
    readonly secrets: ReadonlyMap<string, Record<string, string>>;
  },
): DeploymentSpec {
  const name =
    typeof (document.object['metadata'] as { name?: unknown } | undefined)?.name === 'string'
      ? (document.object['metadata'] as { name: string }).name
      : '(unnamed)';
  const label = `Deployment ${name}`;
  const raw = parseObject(deploymentSchema, document, label);
  const fail = (field: string, problem: string): never => {
    throw new ManifestError(document.file, label, field, problem);
  };
  const base = 'spec.template.spec.containers[0]';
  const container = raw.spec.template.spec.containers[0]!;
  const http = container.ports.find((p) => p.name === 'http') ?? container.ports[0]!;

  const env = containerEnv(container, data, fail);

  let cpuRequestCores: number | undefined;
  const cpu = container.resources?.requests?.cpu;
  if (cpu !== undefined) {
    cpuRequestCores = parseCpuQuantity(cpu);
    if (cpuRequestCores === undefined)
      fail(`${base}.resources.requests.cpu`, `(${cpu}) is not a CPU quantity such as 250m or 0.5`);
  }
  const strategy = raw.spec.strategy;
  const recreate = strategy?.type === 'Recreate';
  if (recreate && strategy?.rollingUpdate)
    fail('spec.strategy.rollingUpdate', 'must be absent when type is Recreate');
  const labels = raw.metadata.labels ?? {};
  return {
    name: raw.metadata.name,
    kind: 'Deployment',
    labels,
    podLabels: raw.spec.template.metadata?.labels ?? labels,
    service: labels[LABELS.name] ?? raw.metadata.name,
    namespace: raw.metadata.namespace ?? NAMESPACE,
    file: document.file,
    replicas: raw.spec.replicas,
    maxSurge: recreate ? 0 : (strategy?.rollingUpdate?.maxSurge ?? '25%'),
    maxUnavailable: recreate ? '100%' : (strategy?.rollingUpdate?.maxUnavailable ?? '25%'),
    containerName: container.name,
    httpPort: http.containerPort,
    env,
    startupProbe: probeSpec(container.startupProbe, container, `${base}.startupProbe`, fail),
    livenessProbe: probeSpec(container.livenessProbe, container, `${base}.livenessProbe`, fail),
    readinessProbe: probeSpec(container.readinessProbe, container, `${base}.readinessProbe`, fail),
    cpuRequestCores,
    progressDeadlineSeconds: raw.spec.progressDeadlineSeconds,
    preStopSleepMs: (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000,
    terminationGracePeriodMs: raw.spec.template.spec.terminationGracePeriodSeconds * 1000,
    stopSignal: 'SIGTERM',
  };
}

/** Kubernetes' reading of maxSurge / maxUnavailable: percentages of the desired count, surge rounded up, unavailable down. */
export function resolveIntOrPercent(value: number | string, desired: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const fraction = (Number(value.slice(0, -1)) / 100) * desired;
  return roundUp ? Math.ceil(fraction) : Math.floor(fraction);
}
