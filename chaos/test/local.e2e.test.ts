/**
 * End to end against the real local runtime (packages/local-runtime) and the real services and load
 * generator: `node packages/local-runtime/src/cli.ts up --foreground` in a temporary data folder.
 * The runtime gets free ports of its own, so a platform started with `make up` may keep running.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  dashboardFiles,
  dashboardQueries,
  loadDashboard,
  loadRules,
  metricNames,
} from '../../monitoring/test/promql.ts';
import { startTestRuntime, type TestRuntime } from './support/local-runtime.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

jest.setTimeout(240_000);

describe('chaos against the real local runtime (e2e)', () => {
  let runtime: TestRuntime;
  let CONTROL: string;
  const results: CliResult[] = [];
  const chaos = async (args: string[]): Promise<CliResult> => {
    const result = await runCli(['--target', 'local', '--seed', 'e2e', ...runtime.chaosArgs, ...args], {});
    results.push(result);
    return result;
  };

  beforeAll(async () => {
    // The HPAs decide once an hour here: on a busy machine they would scale a Deployment between or
    // during these experiments (cpu-stress.e2e tests the autoscaler).
    runtime = await startTestRuntime({ extraArgs: () => ['--hpa-interval', '3600'] });
    CONTROL = runtime.control;
  });

  afterAll(async () => {
    for (const r of results) await cleanup(r);
    await runtime?.stop();
  });

  it('pod-kill rounds under load pass, with MTTR measured from the runtime events', async () => {
    const result = await chaos(['run', 'pod-kill', '--rounds', '3', '--interval', '2s', '--load-rate', '20']);
    expect(result.err).toBe('');
    expect(result.code === 0 ? 'exit 0' : `exit ${result.code}\n${result.out}\n${result.err}`).toBe('exit 0');
    const report = await result.report();
    expect(report.rounds.map((r) => r.outcome)).toEqual(['recovered', 'recovered', 'recovered']);
    for (const r of report.rounds) {
      const t = r.timeline!;
      expect(t.replacements[0].uid).not.toBe(t.kills[0].uid);
      expect(t.fullStrengthAt!).toBeGreaterThanOrEqual(t.replacements[0].readyAt!);
    }
    expect(report.load.total!.sent).toBeGreaterThan(0);
    const metrics = await (await fetch(`${CONTROL}/metrics`)).text();
    expect(metrics).toContain('chaos_kills_total{experiment="pod-kill"} 3');

    // The dashboards and alert rules read only what the running platform exports: every replica's
    // /metrics plus the runtime's (kube-state-metrics names and the chaos figures just stored).
    // (postgres-0, the StatefulSet's replica, speaks PostgreSQL on its port, not HTTP.)
    const { items } = (await (await fetch(`${CONTROL}/replicas`)).json()) as {
      items: { port: number; kind: string }[];
    };
    const services = items.filter((r) => r.kind === 'Deployment');
    expect(services).toHaveLength(6);
    const scrapes = await Promise.all([
      metrics,
      ...services.map(async (r) => (await fetch(`http://127.0.0.1:${r.port}/metrics`)).text()),
    ]);
    const exported = new Set<string>();
    for (const text of scrapes) {
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        exported.add(name);
        if (type === 'histogram')
          for (const suffix of ['_bucket', '_sum', '_count']) exported.add(name + suffix);
      }
    }
    const rules = loadRules().groups.flatMap((g) => g.rules);
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
    const queries = [
      ...rules.map((r) => ({ where: `rule ${r.record ?? r.alert}`, expr: r.expr })),
      ...dashboardFiles.flatMap((file) =>
        dashboardQueries(loadDashboard(file)).map((q) => ({ ...q, where: `${file} ${q.where}` })),
      ),
    ];
    expect(queries.length).toBeGreaterThan(20);
    const missing = queries.flatMap((q) =>
      metricNames(q.expr)
        .filter((name) => !exported.has(name) && !recorded.has(name))
        .map((name) => `${q.where}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('a deliberately tiny MTTR SLO fails with exit 1 and says why', async () => {
    const result = await chaos([
      'run',
      'pod-kill',
      '--rounds',
      '1',
      '--mttr-slo',
      '1ms',
      '--load-rate',
      '10',
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/MTTR p95 \S+ exceeds the SLO of 1ms/);
  });

  it('pod-kill-all shows the outage and the recovery', async () => {
    const result = await chaos(['run', 'pod-kill-all', '--load-rate', '10']);
    const report = await result.report();
    const [round] = report.rounds;
    expect(round.outcome).toBe('recovered');
    expect(round.figures!.noReadyMs).toBeDefined();
    expect(round.figures!.fullStrengthMs!).toBeGreaterThanOrEqual(round.figures!.replacementReadyMs!);
    expect(report.load.segments.some((s) => s.name.endsWith('outage') && !s.counted)).toBe(true);
    expect(result.code === 0 ? 'exit 0' : `exit ${result.code}\n${result.out}\n${result.err}`).toBe('exit 0');
  });

  it('dependency-outage: orders still succeed and every confirmation is delivered afterwards', async () => {
    const result = await chaos(['run', 'dependency-outage', '--load-rate', '5']);
    expect(result.code === 0 ? 'exit 0' : `exit ${result.code}\n${result.out}\n${result.err}`).toBe('exit 0');
    const report = await result.report();
    const delivered = report.verdict.objectives.find((o) => o.name === 'every confirmation delivered');
    expect(delivered?.passed).toBe(true);
    expect(report.rounds[0].details?.ordersDuringOutage).toBeGreaterThan(0);
    expect(result.code === 0 ? 'exit 0' : `exit ${result.code}\n${result.out}\n${result.err}`).toBe('exit 0');
  });
});
