// `make up` / `make down` pick the runtime (k8s/scripts/{up,down}.sh), and the image they build.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, services } from './manifests.ts';

/**
 * Runs a script with a PATH that holds only bash, a few core tools and the given stand-ins (docker,
 * kind, node), each of which records its arguments; returns the output and the recorded calls.
 */
function runWith(script: string, args: string[], stubs: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'runtime-choice-'));
  try {
    const calls = join(dir, 'calls');
    writeFileSync(calls, '');
    for (const tool of ['bash', 'dirname', 'grep', 'cat']) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(found, join(dir, tool));
    }
    for (const [tool, body] of Object.entries(stubs)) {
      writeFileSync(join(dir, tool), `#!${join(dir, 'bash')}\necho "${tool} $*" >> ${calls}\n${body}\n`);
      chmodSync(join(dir, tool), 0o755);
    }
    const run = spawnSync(join(dir, 'bash'), [join(repoRoot, 'k8s/scripts', script), ...args], {
      encoding: 'utf8',
      env: { PATH: dir, HOME: dir },
    });
    return {
      status: run.status,
      output: run.stdout + run.stderr,
      calls: readFileSync(calls, 'utf8').trim().split('\n'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const node = 'exit 0';
const dockerUp = 'exit 0';
const dockerDown = 'echo "Cannot connect to the Docker daemon" >&2; exit 1';

describe('make up picks the runtime', () => {
  it('runs the local runtime when docker is not installed, and says why', () => {
    const run = runWith('up.sh', ['auto'], { node, kind: 'exit 0' });
    expect(run.output).toContain('runtime: local (docker is not installed)');
    expect(run.calls).toEqual(['node packages/local-runtime/src/cli.ts up']);
    expect(run.status).toBe(0);
  });

  it('runs the local runtime when docker does not answer docker info', () => {
    const run = runWith('up.sh', ['auto'], { node, kind: 'exit 0', docker: dockerDown });
    expect(run.output).toMatch(/runtime: local \(docker is installed but `docker info` gets no answer/);
    expect(run.calls).toEqual(['docker info', 'node packages/local-runtime/src/cli.ts up']);
  });

  it('runs the local runtime when docker answers but kind is missing', () => {
    const run = runWith('up.sh', ['auto'], { node, docker: dockerUp });
    expect(run.output).toContain('runtime: local (docker answers but kind is not on PATH)');
    expect(run.calls).toEqual(['docker info', 'node packages/local-runtime/src/cli.ts up']);
  });

  it('honours RUNTIME=local on a machine that could run KIND', () => {
    const run = runWith('up.sh', ['local'], { node, docker: dockerUp, kind: 'exit 0' });
    expect(run.output).toContain('runtime: local (RUNTIME=local was requested)');
    expect(run.calls).toEqual(['node packages/local-runtime/src/cli.ts up']);
  });

  it('takes the KIND path when docker answers and kind is on PATH', () => {
    // kubectl and helm are missing here: the KIND path stops at its tool check and says how to install them.
    const run = runWith('up.sh', ['auto'], { node, docker: dockerUp, kind: 'exit 0' });
    expect(run.output).toContain('runtime: kind (docker answers `docker info` and kind is on PATH)');
    expect(run.output).toMatch(/kubectl is missing: https:\/\/kubernetes.io/);
    expect(run.output).toMatch(/helm is missing: https:\/\/helm.sh/);
    expect(run.calls).not.toContain('node packages/local-runtime/src/cli.ts up');
    expect(run.status).toBe(2);
  });

  it('rejects an unknown runtime', () => {
    const run = runWith('up.sh', ['docker-compose'], { node });
    expect(run.output).toContain("unknown RUNTIME 'docker-compose'");
    expect(run.status).toBe(2);
  });
});

describe('make down', () => {
  it('stops the local runtime when no KIND cluster exists, even where KIND could run', () => {
    const run = runWith('down.sh', ['auto'], { node, docker: dockerUp, kind: 'exit 0' });
    expect(run.output).toContain('runtime: local (no KIND cluster named self-healing-shop exists)');
    expect(run.calls).toContain('node packages/local-runtime/src/cli.ts down');
  });

  it('deletes the KIND cluster when it exists', () => {
    const kind = '[ "$1 $2" = "get clusters" ] && echo self-healing-shop; exit 0';
    const run = runWith('down.sh', ['auto'], { node, docker: dockerUp, kind });
    expect(run.output).toContain('runtime: kind');
    expect(run.calls).toContain('kind delete cluster --name self-healing-shop');
    expect(run.calls).not.toContain('node packages/local-runtime/src/cli.ts down');
  });
});

describe('k8s/docker/Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, 'k8s/docker/Dockerfile'), 'utf8');
  const dockerignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');

  it('builds any service on Node 24 from one SERVICE build argument with pnpm deploy --prod', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-[\w.-]+$/m);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(dockerfile).toMatch(/^ARG SERVICE$/m);
    expect(dockerfile).toMatch(/pnpm --filter "@self-healing-shop\/\$\{SERVICE\}" deploy --prod/);
    for (const service of services) {
      const pkg = JSON.parse(readFileSync(join(repoRoot, 'services', service, 'package.json'), 'utf8'));
      expect(pkg.name).toBe(`@self-healing-shop/${service}`);
    }
  });

  it('runs as a non-root user with Node as PID 1 on the TypeScript entry point', () => {
    expect(dockerfile).toMatch(/^USER [1-9]\d*:[1-9]\d*$/m);
    const cmd = /^CMD (.*)$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd ?? 'null')).toEqual(['node', 'src/main.ts']);
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
  });

  it('keeps dependencies, git history and local data out of the build context', () => {
    for (const entry of ['**/node_modules', '.git', '.data', '.tools', 'reports'])
      expect(dockerignore).toContain(entry);
  });
});
