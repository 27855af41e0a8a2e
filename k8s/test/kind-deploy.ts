// What `k8s/scripts/kind.sh deploy` applies, obtained by running the real script against a copy of the
// repository with a kubectl stand-in: `get nodes` answers with given node addresses, `apply -k DIR`
// renders DIR with the real kustomize instead of applying it. Shared by the k8s tests.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findKustomize, parseDocuments, repoRoot } from './manifests.ts';
import type { K8sObject } from './manifests.ts';

export interface KindDeploy {
  status: number | null;
  stdout: string;
  stderr: string;
  objects: K8sObject[];
  /** The generated overlay's files, by name. */
  generated: Record<string, string>;
}

export const NODE_ADDRESSES = ['172.18.0.2', '172.18.0.3', '172.18.0.4'];

export function runKindDeploy(
  options: { tag?: string; cluster?: string; nodes?: string[] } = {},
): KindDeploy {
  const kustomize = findKustomize();
  if ('error' in kustomize) throw new Error(kustomize.error);
  const realKubectl = kustomize.bin.includes('/')
    ? kustomize.bin
    : spawnSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), 'kind-deploy-'));
  try {
    for (const part of ['k8s', 'monitoring', 'kind-config.yaml'])
      cpSync(join(repoRoot, part), join(dir, part), {
        recursive: true,
        filter: (src) => !src.includes('node_modules'),
      });
    const bin = join(dir, 'bin');
    const rendered = join(dir, 'rendered.yaml');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'kubectl'),
      [
        '#!/usr/bin/env bash',
        '# kubectl --context C get nodes ... -> the node addresses; kubectl --context C apply -k DIR -> render DIR',
        '[ "$1" = --context ] || exit 3',
        `if [ "$3 $4" = "get nodes" ]; then printf '%s\\n' ${(options.nodes ?? NODE_ADDRESSES).join(' ')}; exit 0; fi`,
        '[ "$3" = apply ] && [ "$4" = -k ] || exit 3',
        `exec ${realKubectl} kustomize "$5" > ${rendered}`,
      ].join('\n'),
    );
    chmodSync(join(bin, 'kubectl'), 0o755);
    const run = spawnSync('bash', [join(dir, 'k8s/scripts/kind.sh'), 'deploy'], {
      encoding: 'utf8',
      env: {
        PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: dir,
        IMAGE_TAG: options.tag ?? 'abc1234',
        KIND_CLUSTER_NAME: options.cluster ?? 'self-healing-shop',
      },
    });
    let objects: K8sObject[] = [];
    const generated: Record<string, string> = {};
    if (run.status === 0) {
      objects = parseDocuments(readFileSync(rendered, 'utf8'), rendered) as K8sObject[];
      // One cluster's state folder, under the name kind.sh made of KIND_CLUSTER_NAME.
      const [cluster] = readdirSync(join(dir, '.data/kind'));
      const state = join(dir, '.data/kind', cluster, 'deploy');
      for (const name of ['kustomization.yaml', 'admin-token.env', 'apiserver-proxy-policy.yaml'])
        generated[name] = readFileSync(join(state, name), 'utf8');
    }
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, objects, generated };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
