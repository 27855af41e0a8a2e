import {
  DATABASE_WORKLOAD,
  LABELS,
  NAMESPACE,
  PLATFORM,
  PROTECTED_LABEL,
} from '@self-healing-shop/contracts';
import { z } from 'zod';
import { parseObject, probeTimings, UNSUPPORTED } from './deployment-spec.ts';
import type { PodSpec, ProbeSpec } from './deployment-spec.ts';
import type { ManifestDocument } from './manifest-files.ts';

/**
 * The database's StatefulSet (`k8s/base/postgres`), as the local runtime runs it: one replica
 * (`postgres-0`) of the embedded PostgreSQL, with the manifest's labels, probe timings and grace
 * period. Its `pg_isready` exec probes run as a connection to the server (the same question).
 */
export interface DatabaseSpec extends PodSpec {
  readonly kind: 'StatefulSet';
  readonly replicas: 1;
}

const seconds = (min: number, fallback: number) => z.number().int().min(min).default(fallback);

const probeSchema = z
  .object({
    exec: z.object({ command: z.array(z.string()).min(1) }).optional(),
    httpGet: z.undefined({ error: `${UNSUPPORTED} on the database (pg_isready exec probes are)` }).optional(),
    grpc: z.undefined({ error: UNSUPPORTED }).optional(),
    tcpSocket: z.undefined({ error: UNSUPPORTED }).optional(),
    ...probeTimings,
  })
  .superRefine((probe, context) => {
    if (probe.exec?.command[0] !== 'pg_isready')
      context.addIssue({ code: 'custom', path: ['exec', 'command'], message: 'must run pg_isready' });
  });

const labels = z.record(z.string(), z.string()).optional();

const statefulSetSchema = z.object({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('StatefulSet'),
  metadata: z.object({ name: z.string().min(1), namespace: z.string().optional(), labels }),
  spec: z.object({
    replicas: z.literal(1, { error: 'must be 1: the local runtime runs one PostgreSQL server' }).default(1),
    template: z.object({
      metadata: z.object({ labels }).loose().optional(),
      spec: z
        .object({
          terminationGracePeriodSeconds: seconds(0, 30),
          containers: z
            .array(
              z
                .object({
                  name: z.string().min(1),
                  startupProbe: probeSchema.optional(),
                  livenessProbe: probeSchema.optional(),
                  readinessProbe: probeSchema.optional(),
                })
                .loose(),
            )
            .min(1)
            .max(1, `with more than one container ${UNSUPPORTED}`),
        })
        .loose(),
    }),
  }),
});

type RawProbe = z.infer<typeof probeSchema>;

function probeSpec(probe: RawProbe | undefined): ProbeSpec | undefined {
  return (
    probe && {
      // An exec probe: no HTTP path; the command is recorded for messages.
      path: '',
      headers: {},
      command: probe.exec?.command ?? [],
      initialDelayMs: probe.initialDelaySeconds * 1000,
      periodMs: probe.periodSeconds * 1000,
      timeoutMs: probe.timeoutSeconds * 1000,
      successThreshold: probe.successThreshold,
      failureThreshold: probe.failureThreshold,
    }
  );
}

/** Reads the database's StatefulSet; a field the runtime cannot honour is a ManifestError. */
export function databaseSpec(document: ManifestDocument): DatabaseSpec {
  const raw = parseObject(statefulSetSchema, document, `StatefulSet ${DATABASE_WORKLOAD}`);
  const container = raw.spec.template.spec.containers[0]!;
  const workloadLabels = raw.metadata.labels ?? {};
  return {
    name: raw.metadata.name,
    kind: 'StatefulSet',
    replicas: 1,
    labels: workloadLabels,
    podLabels: raw.spec.template.metadata?.labels ?? workloadLabels,
    service: workloadLabels[LABELS.name] ?? raw.metadata.name,
    namespace: raw.metadata.namespace ?? NAMESPACE,
    file: document.file,
    containerName: container.name,
    startupProbe: probeSpec(container.startupProbe),
    livenessProbe: probeSpec(container.livenessProbe),
    readinessProbe: probeSpec(container.readinessProbe),
    preStopSleepMs: 0,
    terminationGracePeriodMs: raw.spec.template.spec.terminationGracePeriodSeconds * 1000,
    // The postgres image's STOPSIGNAL: fast shutdown (SIGTERM would wait for every client to leave).
    stopSignal: 'SIGINT',
  };
}

const pgIsReady = (periodSeconds: number, timeoutSeconds: number, failureThreshold: number, delay = 0) =>
  probeSpec({
    exec: { command: ['pg_isready'] },
    initialDelaySeconds: delay,
    periodSeconds,
    timeoutSeconds,
    successThreshold: 1,
    failureThreshold,
  });

/** The database when the manifests have no `postgres` StatefulSet (test fixtures): k8s/base's values. */
export const DEFAULT_DATABASE_SPEC: DatabaseSpec = {
  name: DATABASE_WORKLOAD,
  kind: 'StatefulSet',
  replicas: 1,
  labels: {
    [LABELS.name]: DATABASE_WORKLOAD,
    [LABELS.partOf]: PLATFORM,
    [LABELS.component]: 'database',
    [PROTECTED_LABEL]: 'true',
  },
  podLabels: {
    [LABELS.name]: DATABASE_WORKLOAD,
    [LABELS.partOf]: PLATFORM,
    [LABELS.component]: 'database',
    [PROTECTED_LABEL]: 'true',
  },
  service: DATABASE_WORKLOAD,
  namespace: NAMESPACE,
  file: '(built in)',
  containerName: 'postgres',
  readinessProbe: pgIsReady(5, 3, 3),
  livenessProbe: pgIsReady(10, 5, 6, 30),
  preStopSleepMs: 0,
  terminationGracePeriodMs: 30_000,
  stopSignal: 'SIGINT',
};
