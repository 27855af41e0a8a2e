import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LOCAL_ADMIN_TOKEN, type RuntimeInfo, type WorkloadView } from '@self-healing-shop/contracts';
import { LocalTarget } from '../src/targets/local-target.ts';
import type { VerifyReport } from '../src/verify/verify.ts';
import { waitFor } from './support/kube/wait.ts';
import { freePorts, startTestRuntime, type TestRuntime } from './support/local-runtime.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

// The real local runtime with its Prometheus, Alertmanager (when installed) and console, on free ports.
describe('chaos verify --target local (real local runtime)', () => {
  let runtime: TestRuntime;
  const results: CliResult[] = [];
  const verify = async (args: string[]): Promise<CliResult> => {
    const result = await runCli(['verify', '--target', 'local', ...runtime.chaosArgs, ...args], {});
    results.push(result);
    return result;
  };
  const get = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;

  beforeAll(async () => {
    runtime = await startTestRuntime({ monitoring: true });
  }, 240_000);
  afterAll(async () => {
    await runtime?.stop();
    for (const r of results) await cleanup(r);
  }, 60_000);

  it("names the runtime's console as where a failed order's trace opens, and the console answers there", async () => {
    const target = new LocalTarget({ controlUrl: runtime.control, adminToken: LOCAL_ADMIN_TOKEN });
    try {
      const base = await target.traceViewBase();
      // The test runtime's console runs on a port of its own, not the default 3000.
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(base).not.toBe('http://127.0.0.1:3000');
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
    } finally {
      await target.close();
    }
  });

  it('stops with exit 2 and names `make up` when no runtime answers', async () => {
    const nobody = `http://127.0.0.1:${await freePorts(1)}`;
    const result = await runCli(['verify', '--target', 'local', '--runtime-url', nobody, '--no-kill'], {});
    results.push(result);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toContain(`cannot reach ${nobody}/status`);
    expect(result.err).toContain('make up');
  });

  it('passes every check on the running platform, the pod-kill round included', async () => {
    const result = await verify(['--load-rate', '5']);
    expect(result.err).toBe('');
    const lines = result.out.split('\n');
    expect(lines[0]).toBe(`verify: local runtime at ${runtime.control}`);
    expect(lines).toContain(
      '✓ workloads: 4 workloads complete: postgres 1/1, order 2/2, inventory 2/2, notification 2/2',
    );
    expect(lines).toContain(
      '✓ prometheus targets: shop 6/6 up (order 2, inventory 2, notification 2); local-runtime 1/1 up',
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^✓ prometheus rules: 3\/3 groups loaded \(\d+ rules\): self-healing-shop\.http\.recording, self-healing-shop\.slo\.recording, self-healing-shop\.alerts$/,
      ),
    );
    // Alertmanager is optional: ready when the runtime found the binary, skipped otherwise.
    expect(lines).toContainEqual(
      expect.stringMatching(/^(✓ alertmanager: ready at http|– alertmanager: not installed)/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^✓ console: answers at http:\/\/127\.0\.0\.1:\d+$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^✓ order round trip: order \S+ \(1 × p-\d+\) placed at /),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^✓ pod-kill round: killed \S+ \((order|inventory|notification)\): full strength after/,
      ),
    );
    expect(lines.at(-1)).toMatch(/^verify: (7\/7 checks passed|6\/7 checks passed, 1 skipped)$/);
    expect(result.code).toBe(0);
  }, 180_000);

  it('fails "workloads" and "prometheus targets" when a replica is frozen, naming it', async () => {
    const info = await get<RuntimeInfo>(`${runtime.control}/status`);
    // Wait until the runtime is back at full strength after the previous test's kill.
    await waitFor(
      'every workload at full strength',
      async () =>
        (await get<{ items: WorkloadView[] }>(`${runtime.control}/workloads`)).items.every(
          (w) => w.readyReplicas === w.replicas,
        ),
      60_000,
    );
    const { items } = await get<{ items: Array<{ name: string; service: string }> }>(
      `${runtime.control}/replicas`,
    );
    const victim = items.find((r) => r.service === 'notification')!.name;
    const send = (name: 'SIGSTOP' | 'SIGCONT') =>
      fetch(`${runtime.control}/replicas/${victim}/kill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ signal: name }),
      });
    expect((await send('SIGSTOP')).ok).toBe(true);
    try {
      // The readiness probe and a scrape must both have seen it (probe period, scrape interval 5 s).
      await waitFor(
        'notification below full strength',
        async () =>
          (await get<{ items: WorkloadView[] }>(`${runtime.control}/workloads`)).items.some(
            (w) => w.name === 'notification' && w.readyReplicas < w.replicas,
          ),
        60_000,
      );
      await waitFor(
        'a notification target not up in Prometheus',
        async () =>
          (
            await get<{ data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> } }>(
              `${info.prometheusUrl}/api/v1/targets?state=active`,
            )
          ).data.activeTargets.some((t) => t.labels.service === 'notification' && t.health !== 'up'),
        60_000,
      );
      const result = await verify(['--no-kill', '--wait', '1s', '--json']);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.out) as VerifyReport;
      expect(report.passed).toBe(false);
      expect(report.failed).toEqual(expect.arrayContaining(['workloads', 'prometheus targets']));
      const workloads = report.checks.find((c) => c.name === 'workloads')!;
      expect(workloads.seen).toMatch(/^not complete: notification; /);
      expect(workloads.next).toContain('make status');
      const targets = report.checks.find((c) => c.name === 'prometheus targets')!;
      expect(targets.seen).toMatch(/not up: .*shop\/notification-/);
      expect(report.checks.find((c) => c.name === 'pod-kill round')!.status).toBe('skip');
    } finally {
      await send('SIGCONT');
    }
  }, 180_000);
});
