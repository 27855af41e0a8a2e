// The Dockerfile's build stage replayed without Docker: its RUN steps after `pnpm fetch` (deploy, move,
// bundle) run as plain shell with /out, /bundler and /app moved under a folder of the caller's. Used by
// k8s/test/image.test.ts (what the image holds) and packages/local-runtime/bench/image-start.ts (how fast
// what it holds starts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The RUN instructions of the Dockerfile, continuation lines joined, BuildKit `--mount` options removed. */
export function runInstructions(): string[] {
  const dockerfile = readFileSync(join(repoRoot, 'k8s/docker/Dockerfile'), 'utf8');
  const joined = dockerfile.replace(/\\\n/g, ' ');
  return [...joined.matchAll(/^RUN\s+(.*)$/gm)].map((m) => m[1]!.replace(/--mount=\S+\s*/g, '').trim());
}

export interface ImageTree {
  /** The deployed tree of the package (`/out`). */
  out: string;
  bundler: string;
  /** What the runtime stage copies (`/app`): a service's main.mjs alone, the chaos engine's tree. */
  app: string;
  status: number | null;
  output: string;
}

/** Runs the build steps for one workspace package (SERVICE=`name`) into `<root>/{out,bundler,app}`. */
export function buildImageTree(name: string, root: string): ImageTree {
  const dirs = { out: join(root, 'out'), bundler: join(root, 'bundler'), app: join(root, 'app') };
  mkdirSync(root, { recursive: true });
  const steps = runInstructions().filter(
    (r) => r.includes(' deploy ') || r.includes('/out/workspace') || r.includes('/app'),
  );
  const script = [
    'set -euo pipefail',
    // One pass, so a folder of the caller's whose path holds /app or /out is left as it is.
    ...steps.map((s) => s.replace(/\/(out|bundler|app)\b/g, (_, dir: keyof typeof dirs) => dirs[dir])),
  ].join('\n');
  const run = spawnSync('bash', ['-c', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, SERVICE: name },
    timeout: 120_000,
  });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') throw run.error;
  return { ...dirs, status: run.status, output: `${run.stdout}${run.stderr}` };
}
