/**
 * End to end: the cpu-stress experiment against the real local runtime and services. The runtime runs a
 * copy of k8s/base whose order HPA scales down after 6 s instead of 5 min, and decides every 2 s instead
 * of 15 s, so that scale-out and the return to the minimum both happen within the test.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { ROOT, startTestRuntime, type TestRuntime } from './support/local-runtime.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

jest.setTimeout(240_000);

describe('cpu-stress against the real local runtime (e2e)', () => {
  let runtime: TestRuntime;
  const results: CliResult[] = [];

  beforeAll(async () => {
    runtime = await startTestRuntime({
      extraArgs: async (dir) => {
        await cp(join(ROOT, 'k8s/base'), join(dir, 'k8s'), { recursive: true });
        const hpaFile = join(dir, 'k8s/order/hpa.yaml');
        const hpa = parse(await readFile(hpaFile, 'utf8'));
        hpa.spec.behavior.scaleDown = {
          stabilizationWindowSeconds: 6,
          policies: [{ type: 'Pods', value: 4, periodSeconds: 2 }],
        };
        await writeFile(hpaFile, stringify(hpa));
        return ['--k8s-dir', join(dir, 'k8s'), '--hpa-interval', '2'];
      },
    });
  });

  afterAll(async () => {
    for (const r of results) await cleanup(r);
    await runtime?.stop();
  });

  it('scales order out while its replicas burn CPU and back to the minimum after the window', async () => {
    const experiment = join(runtime.dir, 'cpu-stress-short.yaml');
    await writeFile(
      experiment,
      stringify({
        name: 'cpu-stress-short',
        description: 'cpu-stress with a short burn, for the test',
        action: {
          kind: 'cpu-stress',
          workload: 'order',
          duration: '12s',
          scaleOutDeadline: '12s',
          scaleInDeadline: '60s',
        },
        defaults: { rounds: 1, loadRate: 5, minSuccess: 0.9 },
      }),
    );
    const result = await runCli(
      ['run', experiment, '--target', 'local', '--seed', 'cpu', ...runtime.chaosArgs],
      {},
    );
    results.push(result);
    expect(result.code === 0 ? 'exit 0' : `exit ${result.code}\n${result.out}\n${result.err}`).toBe('exit 0');
    const report = await result.report();
    const details = report.rounds[0]!.details as {
      minimum: number;
      maxReplicas: number;
      scaleOutMs: number;
      backToMinMs: number;
    };
    expect(details.minimum).toBe(2);
    expect(details.maxReplicas).toBeGreaterThan(2);
    // Exit 0 means both happened within the experiment's deadlines; the figures are in the report.
    expect(details.scaleOutMs).toBeGreaterThan(0);
    expect(details.backToMinMs).toBeGreaterThanOrEqual(0);
    const deployments = (await (await fetch(`${runtime.control}/workloads`)).json()) as {
      items: { name: string; replicas: number }[];
    };
    expect(deployments.items.find((d) => d.name === 'order')?.replicas).toBe(2);
  });
});
