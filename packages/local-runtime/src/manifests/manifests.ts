import path from 'node:path';
import { DATABASE_WORKLOAD } from '@self-healing-shop/contracts';
import { z } from 'zod';
import { databaseSpec } from './database-spec.ts';
import type { DatabaseSpec } from './database-spec.ts';
import { deploymentSpec, parseObject } from './deployment-spec.ts';
import type { DeploymentSpec } from './deployment-spec.ts';
import { hpaSpec } from './hpa-spec.ts';
import type { HpaSpec } from './hpa-spec.ts';
import { ManifestError } from './manifest-error.ts';
import { readManifestDocuments } from './manifest-files.ts';
import type { ManifestDocument } from './manifest-files.ts';

/** What the local runtime runs: the Deployments, their HorizontalPodAutoscalers and the database's StatefulSet. */
export interface Platform {
  readonly deployments: readonly DeploymentSpec[];
  readonly autoscalers: readonly HpaSpec[];
  /** The `postgres` StatefulSet when the manifests have one. */
  readonly database?: DatabaseSpec;
}

const dataSchema = z.object({
  metadata: z.object({ name: z.string().min(1) }),
  data: z.record(z.string(), z.string({ error: 'must be a string (quote it)' })).optional(),
  stringData: z.record(z.string(), z.string({ error: 'must be a string (quote it)' })).optional(),
});

function nameOf(document: ManifestDocument): string | undefined {
  const metadata = document.object['metadata'];
  const name =
    typeof metadata === 'object' && metadata !== null ? (metadata as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

function kindOf(document: ManifestDocument): string {
  return typeof document.object['kind'] === 'string' ? document.object['kind'] : '';
}

/** Turns manifest objects into the Platform; kinds that mean nothing to local processes are skipped. */
export function platformFromDocuments(documents: readonly ManifestDocument[]): Platform {
  const configMaps = new Map<string, Record<string, string>>();
  const secrets = new Map<string, Record<string, string>>();
  for (const document of documents) {
    const kind = kindOf(document);
    if (kind !== 'ConfigMap' && kind !== 'Secret') continue;
    const raw = parseObject(dataSchema, document, kind);
    const decoded = Object.fromEntries(
      Object.entries(raw.data ?? {}).map(([k, v]) => [
        k,
        kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v,
      ]),
    );
    (kind === 'Secret' ? secrets : configMaps).set(raw.metadata.name, { ...decoded, ...raw.stringData });
  }
  const deployments: DeploymentSpec[] = [];
  const autoscalers: HpaSpec[] = [];
  let database: DatabaseSpec | undefined;
  for (const document of documents) {
    const kind = kindOf(document);
    if (kind === 'Deployment') deployments.push(deploymentSpec(document, { configMaps, secrets }));
    else if (kind === 'HorizontalPodAutoscaler') autoscalers.push(hpaSpec(document));
    else if (kind === 'StatefulSet' && nameOf(document) === DATABASE_WORKLOAD)
      database = databaseSpec(document);
  }
  const seen = new Set<string>();
  for (const deployment of deployments) {
    if (seen.has(deployment.name)) {
      throw new ManifestError(
        deployment.file,
        `Deployment ${deployment.name}`,
        'metadata.name',
        'is declared twice',
      );
    }
    seen.add(deployment.name);
  }
  for (const hpa of autoscalers) {
    const target = deployments.find((d) => d.name === hpa.deployment);
    const label = `HorizontalPodAutoscaler ${hpa.name}`;
    if (!target)
      throw new ManifestError(
        hpa.file,
        label,
        'spec.scaleTargetRef.name',
        `names Deployment ${hpa.deployment}, which is not in the manifests`,
      );
    if (target.cpuRequestCores === undefined) {
      throw new ManifestError(
        target.file,
        `Deployment ${target.name}`,
        'spec.template.spec.containers[0].resources.requests.cpu',
        `is required: HorizontalPodAutoscaler ${hpa.name} targets CPU utilisation`,
      );
    }
    if (autoscalers.filter((other) => other.deployment === hpa.deployment).length > 1) {
      throw new ManifestError(
        hpa.file,
        label,
        'spec.scaleTargetRef.name',
        `targets Deployment ${hpa.deployment}, which another HorizontalPodAutoscaler targets too`,
      );
    }
  }
  if (deployments.length === 0)
    throw new ManifestError('(manifests)', 'Deployments', 'kind', 'none found: nothing to run');
  return database ? { deployments, autoscalers, database } : { deployments, autoscalers };
}

/** Reads a kustomize folder such as k8s/base; errors are ManifestErrors naming the file and field. */
export async function loadPlatform(k8sDir: string, displayRoot = process.cwd()): Promise<Platform> {
  return platformFromDocuments(await readManifestDocuments(path.resolve(k8sDir), displayRoot));
}
