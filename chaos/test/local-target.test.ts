import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { LocalTarget } from '../src/targets/local-target.ts';
import type { TargetEvent } from '../src/target.ts';
import { FakeControlApi } from './support/fake-control-api.ts';
import { startOrderEndpoint, type OrderEndpoint } from './support/order-endpoint.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

describe('chaos run against the local runtime (control API test double)', () => {
  let runtime: FakeControlApi;
  let orders: OrderEndpoint;
  const results: CliResult[] = [];
  const run = async (args: string[], signal?: AbortSignal): Promise<CliResult> => {
    const result = await runCli(
      ['--target', 'local', '--runtime-url', runtime.url, '--url', orders.url, ...args],
      {
        signal,
      },
    );
    results.push(result);
    return result;
  };

  beforeEach(async () => {
    runtime = await new FakeControlApi({
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2 },
      ],
      readyDelayMs: 100,
    }).start();
    // While inventory has no ready replica, orders fail (as the real order service would).
    orders = await startOrderEndpoint(() => (runtime.replicas('inventory').some((r) => r.ready) ? 201 : 503));
  });
  afterEach(async () => {
    await runtime.stop();
    await orders.close();
  });
  afterAll(async () => {
    for (const r of results) await cleanup(r);
  });

  it('streams replica events from the SSE stream and resumes it with Last-Event-ID', async () => {
    const target = new LocalTarget({ controlUrl: runtime.url, faultToken: 'local-chaos-token' });
    // Subscribe once every replica has started, so the only events are the kill's.
    const settle = Date.now() + 3000;
    while (!(await target.listWorkloads()).every((w) => w.ready === w.desired) && Date.now() < settle) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const seen: TargetEvent[] = [];
    const sub = await target.subscribe((e) => seen.push(e));
    const [victim] = await target.listReplicas();
    // The kill happens while the stream is down: its events come back through the replay.
    runtime.dropStreams();
    await target.kill(victim, { evict: false, experiment: 't', reason: 't' });
    const deadline = Date.now() + 3000;
    while (!seen.some((e) => e.type === 'replica-ready') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await sub.close();
    const types = seen
      .filter((e) => e.type !== 'workload-status')
      .map((e) => `${e.type}:${e.uid === victim.uid ? 'old' : 'new'}`);
    expect(types).toEqual([
      'replica-terminating:old',
      'replica-gone:old',
      'replica-added:new',
      'replica-ready:new',
    ]);
    expect(seen.filter((e) => e.type === 'workload-status').at(-1)?.status?.ready).toBe(2);
  });

  it('runs pod-kill rounds, measures MTTR from the events and publishes the metrics to the runtime', async () => {
    const result = await run([
      'run',
      'pod-kill',
      '--rounds',
      '2',
      '--interval',
      '50ms',
      '--seed',
      'local',
      '--load-rate',
      '20',
    ]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const report = await result.report();
    expect(report.rounds.map((r) => r.outcome)).toEqual(['recovered', 'recovered']);
    for (const r of report.rounds) {
      const t = r.timeline!;
      expect(t.kills[0].goneAt!).toBeGreaterThanOrEqual(t.kills[0].sentAt);
      expect(t.replacements[0].readyAt! - t.replacements[0].createdAt).toBeGreaterThanOrEqual(95);
      expect(t.fullStrengthAt!).toBeGreaterThanOrEqual(t.replacements[0].readyAt!);
    }
    expect(runtime.kills).toHaveLength(2);
    expect(runtime.metrics).toContain('chaos_kills_total{experiment="pod-kill"} 2');
    expect(runtime.metrics).toContain('chaos_verdict{experiment="pod-kill"} 1');
  });

  it('pod-kill-all shows the outage and the recovery, and judges orders outside the outage', async () => {
    const result = await run(['run', 'pod-kill-all', '--seed', 'x', '--load-rate', '40']);
    const report = await result.report();
    const [round] = report.rounds;
    expect(round.outcome).toBe('recovered');
    expect(round.timeline!.kills).toHaveLength(2);
    expect(round.figures!.noReadyMs).toBeDefined();
    expect(round.figures!.replacementReadyMs!).toBeGreaterThanOrEqual(round.figures!.noReadyMs!);
    const outage = report.load.segments.find((s) => s.name.endsWith('outage'))!;
    expect(outage.counted).toBe(false);
    expect(outage.report.failed).toBeGreaterThan(0);
    expect(report.load.counted!.failed).toBe(0);
    expect(report.load.total!.failed).toBe(outage.report.failed);
    expect(result.code).toBe(0);
    expect(result.out).toContain('orders outside the outage windows');
  });

  it('injects a fault into every replica with the admin token, and removes it after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-exp-'));
    const file = join(dir, 'short-latency.yaml');
    await writeFile(
      file,
      [
        'name: short-latency',
        'description: 50 ms latency on order for 300 ms',
        'action: { kind: fault, workload: order, duration: 300ms, fault: { type: latency, latencyMs: 50 } }',
        'defaults: { loadRate: 20 }',
        'objectives: { latencyP95Max: 2s }',
      ].join('\n'),
    );
    try {
      const result = await run(['run', file]);
      expect(result.code).toBe(0);
      const posts = runtime.faultRequests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(2);
      expect(posts[0].body).toEqual({ type: 'latency', latencyMs: 50, durationMs: 300 });
      expect(runtime.faultRequests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
      const report = await result.report();
      expect(report.verdict.objectives.map((o) => o.name)).toContain(
        'latency p95 under the fault (round 1 fault)',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops on SIGINT, still writes the report and exits 2', async () => {
    const controller = new AbortController();
    const pending = run(['run', 'pod-kill', '--rounds', '50', '--interval', '10s'], controller.signal);
    const deadline = Date.now() + 5000;
    while (runtime.kills.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const result = await pending;
    expect(result.code).toBe(2);
    const report = await result.report();
    expect(report.status).toBe('aborted');
    expect(report.rounds.length).toBeLessThan(50);
    expect(await result.file('junit.xml')).toContain('name="run completed"');
  });

  it('says to start the platform when the runtime is not there (exit 2)', async () => {
    const result = await runCli(
      ['run', 'pod-kill', '--target', 'local', '--runtime-url', 'http://127.0.0.1:9'],
      {},
    );
    results.push(result);
    expect(result.code).toBe(2);
    expect(result.err).toContain('make up');
  });
});
