import { describe, expect, it } from '@jest/globals';
import { findKustomize, loadSourceObjects, render, typeKey, validateObject } from './manifests.ts';
import type { Kustomize, LoadedObject } from './manifests.ts';
import { strictTypeProblems } from './strict-types.ts';

function schemaProblems(objects: LoadedObject[]): string[] {
  return objects.flatMap(({ source, object }) =>
    validateObject(object).map(
      (problem) => `${source} ${typeKey(object)} ${object.metadata?.name}: ${problem}`,
    ),
  );
}

function kustomize(): Kustomize {
  const found = findKustomize();
  if ('error' in found) throw new Error(found.error);
  return found;
}

describe('every object under k8s/', () => {
  const objects = loadSourceObjects();

  it('parses, and finds the objects of the base and the kind overlay', () => {
    const kinds = new Set(objects.map(({ object }) => object.kind));
    for (const kind of [
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
    ]) {
      expect(kinds).toContain(kind);
    }
    for (const kind of [
      'StatefulSet',
      'ServiceMonitor',
      'PrometheusRule',
      'ConfigMap',
      'Secret',
      'Namespace',
    ]) {
      expect(kinds).toContain(kind);
    }
  });

  it('is valid against the Kubernetes and prometheus-operator schemas', () => {
    expect(schemaProblems(objects)).toEqual([]);
  });

  it('has no field that the schema does not know (typos the validators let through)', () => {
    // Patches are partial objects: only the complete ones are checked field by field here; the
    // rendered overlay below covers the patched result.
    const complete = objects.filter(({ source }) => !source.startsWith('k8s/overlays/'));
    expect(strictTypeProblems(complete)).toEqual([]);
  });
});

describe('the unknown-field check', () => {
  it('reports a misspelt field with its object', () => {
    const [deployment] = loadSourceObjects().filter(({ object }) => object.kind === 'Deployment');
    const broken = structuredClone(deployment);
    broken.object.spec.template.spec.containers[0].readinesProbe = {
      httpGet: { path: '/ready', port: 'http' },
    };
    const problems = strictTypeProblems([broken]);
    expect(problems.join('\n')).toMatch(/readinesProbe/);
  });

  it('reports a wrongly typed field that the schema validator also rejects', () => {
    const [deployment] = loadSourceObjects().filter(({ object }) => object.kind === 'Deployment');
    const broken = structuredClone(deployment.object);
    broken.spec.replicas = '2';
    expect(validateObject(broken).join('\n')).toMatch(/replicas must be integer/);
  });
});

describe('rendered with kustomize', () => {
  it.each(['k8s/base', 'k8s/overlays/kind'])('%s renders and every rendered object is valid', (dir) => {
    const rendered = render(kustomize(), dir);
    expect(rendered.length).toBeGreaterThan(20);
    expect(schemaProblems(rendered)).toEqual([]);
    expect(strictTypeProblems(rendered)).toEqual([]);
  });
});
