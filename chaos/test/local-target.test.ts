// The local target against the REAL local runtime (startRuntime from @self-healing-shop/local-runtime)
// on a small fixture platform: two Deployments of test/fixtures/fixture-service.ts, ports from the OS.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LOCAL_ADMIN_TOKEN } from '@self-healing-shop/contracts';
import { startRuntime, type Runtime } from '@self-healing-shop/local-runtime';
import pino from 'pino';
import { LocalTarget } from '../src/targets/local-target.ts';
import { TargetError, type TargetEvent } from '../src/target.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = resolve(import.meta.dirname, 'fixtures');

/** Polls with a deadline; fails with what it was waiting for. */
async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A port that was free a moment ago: nothing listens there. */
function closedPort(): Promise<number> {
  return new Promise<number>((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

/** Whether `expected` appears in `actual` in this order (other items may come between). */
function inOrder(actual: readonly string[], expected: readonly string[]): boolean {
  let i = 0;
  for (const item of actual) if (item === expected[i]) i++;
  return i === expected.length;
}

describe('the local target against the real local runtime (fixture platform)', () => {
  let runtime: Runtime;
  let dir: string;
  let target: LocalTarget;
  const results: CliResult[] = [];
  const allReady = async (): Promise<boolean> =>
    (await target.listWorkloads()).every((w) => w.ready === w.desired && w.desired > 0);
  const run = async (args: string[], signal?: AbortSignal): Promise<CliResult> => {
    const result = await runCli(
      [
        '--target',
        'local',
        '--runtime-url',
        runtime.controlUrl,
        '--url',
        runtime.frontUrls['order']!,
        ...args,
      ],
      { signal },
    );
    results.push(result);
    return result;
  };
  const experimentFile = async (name: string, lines: string[]): Promise<string> => {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, [`name: ${name}`, ...lines].join('\n'));
    return file;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaos-local-target-'));
    runtime = await startRuntime({
      rootDir: ROOT,
      k8sDir: join(FIXTURES, 'platform'),
      dataDir: join(dir, 'data'),
      controlPort: 0,
      frontPorts: { order: 0, inventory: 0, notification: 0 },
      postgres: false,
      prometheus: false,
      console: false,
      command: () => ({ command: process.execPath, args: [join(FIXTURES, 'fixture-service.ts')] }),
      env: { FIXTURE_STATE_DIR: dir },
      timeScale: 0.2,
      hpaIntervalMs: 3_600_000,
      logger: pino({ level: 'silent' }),
    });
    target = new LocalTarget({ controlUrl: runtime.controlUrl, adminToken: LOCAL_ADMIN_TOKEN });
    await waitFor(allReady, 'every fixture replica ready', 60_000);
  }, 90_000);

  afterAll(async () => {
    await target?.close();
    await runtime?.stop();
    for (const r of results) await cleanup(r);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists workloads with their kind and replicas with their port', async () => {
    // an earlier test may have killed a replica: wait until its replacement is ready and it is gone
    await waitFor(
      async () => (await allReady()) && (await target.listReplicas()).length === 5,
      'five replicas, every one ready',
    );
    const workloads = await target.listWorkloads();
    expect(workloads.map((w) => [w.name, w.kind, w.desired]).sort()).toEqual([
      ['inventory', 'Deployment', 2],
      ['notification', 'Deployment', 1],
      ['order', 'Deployment', 2],
    ]);
    const replicas = await target.listReplicas();
    expect(replicas).toHaveLength(5);
    for (const r of replicas) {
      expect(r.protected).toBe(false);
      const health = await fetch(`${r.url}/health`);
      expect(health.status).toBe(200);
      expect(await target.readiness(r)).toEqual({ status: 'healthy', checks: [] });
    }
    // A replica that does not answer: the error names it and what was asked.
    const gone = { ...replicas[0]!, name: 'order-gone', url: `http://127.0.0.1:${await closedPort()}` };
    await expect(target.readiness(gone)).rejects.toThrow(
      new RegExp(`^GET ${gone.url}/ready \\(order-gone\\) failed: `),
    );
  });

  it('streams a kill from the runtime: the old replica terminates and goes, a new one is added and ready', async () => {
    await waitFor(allReady, 'every replica ready');
    const seen: TargetEvent[] = [];
    const sub = await target.subscribe((e) => seen.push(e));
    const victim = (await target.listReplicas()).find((r) => r.workload === 'inventory')!;
    const result = await target.kill(victim, { evict: false, experiment: 't', reason: 't' });
    expect(result).toEqual({ outcome: 'sent', method: 'SIGKILL' });
    const added = (): string | undefined =>
      seen.find((e) => e.type === 'replica-added' && e.workload === 'inventory')?.uid;
    await waitFor(
      () => seen.some((e) => e.type === 'replica-ready' && e.uid !== undefined && e.uid === added()),
      'the replacement ready',
    );
    await sub.close();
    const role = (uid: string | undefined): string =>
      uid === victim.uid ? 'old' : uid === added() ? 'new' : 'other';
    const types = seen
      .filter((e) => e.workload === 'inventory' && e.type !== 'workload-status')
      .map((e) => `${e.type}:${role(e.uid)}`);
    expect(
      inOrder(types, [
        'replica-terminating:old',
        'replica-gone:old',
        'replica-added:new',
        'replica-ready:new',
      ]),
    ).toBe(true);
    expect(seen.some((e) => e.type === 'workload-status' && e.status?.kind === 'Deployment')).toBe(true);
    await waitFor(allReady, 'inventory at full strength again');
  });

  it('freezes a replica (SIGSTOP): it stops answering and turns unready, then thaws (SIGCONT) as the same process', async () => {
    await waitFor(allReady, 'every replica ready');
    const seen: TargetEvent[] = [];
    const sub = await target.subscribe((e) => seen.push(e));
    const victim = (await target.listReplicas()).find((r) => r.workload === 'order' && r.ready)!;
    await target.freeze(victim, 3_000);
    await expect(fetch(`${victim.url}/health`, { signal: AbortSignal.timeout(500) })).rejects.toThrow();
    await waitFor(
      () => seen.some((e) => e.uid === victim.uid && e.type === 'replica-ready'),
      'the frozen replica ready again',
    );
    await sub.close();
    const mine = seen.filter((e) => e.uid === victim.uid).map((e) => e.type);
    expect(inOrder(mine, ['replica-unready', 'replica-ready'])).toBe(true);
    expect(mine).not.toContain('replica-gone');
    expect((await fetch(`${victim.url}/health`)).status).toBe(200);
  });

  it('reads the audit API through the front with the admin token, and names the status when refused', async () => {
    const summary = await target.adminGet<{ pending: number }>('order', '/admin/audit/summary');
    expect(summary.pending).toBe(0);
    const wrong = new LocalTarget({ controlUrl: runtime.controlUrl, adminToken: 'not-the-token' });
    const refused = wrong.adminGet('order', '/admin/audit/summary');
    await expect(refused).rejects.toThrow(TargetError);
    await expect(refused).rejects.toThrow('GET /admin/audit/summary of order answered 401');
    await expect(target.adminGet('payments', '/admin/audit/summary')).rejects.toThrow(
      'no front for payments',
    );
  });

  it('runs pod-kill rounds against the runtime, checks the invariants and publishes the metrics', async () => {
    await waitFor(allReady, 'every replica ready');
    // The fixture's orders are not what is under test here (the front may still route to a killed
    // process on a busy machine): recovery, invariants and metrics are.
    const result = await run([
      'run',
      'pod-kill',
      '--min-success',
      '0',
      '--rounds',
      '2',
      '--interval',
      '100ms',
      '--seed',
      'local',
      '--load-rate',
      '20',
    ]);
    const report = await result.report();
    expect(report.rounds.map((r) => r.outcome)).toEqual(['recovered', 'recovered']);
    for (const r of report.rounds) {
      const t = r.timeline!;
      expect(t.kills[0]!.goneAt!).toBeGreaterThanOrEqual(t.kills[0]!.sentAt);
      expect(t.replacements[0]!.readyAt!).toBeGreaterThanOrEqual(t.replacements[0]!.createdAt);
      expect(t.fullStrengthAt!).toBeGreaterThanOrEqual(t.replacements[0]!.readyAt!);
    }
    expect(report.invariants).toMatchObject({ checked: true, settled: true, violations: [] });
    expect(report.verdict.objectives.find((o) => o.name === 'data invariants hold')?.passed).toBe(true);
    expect(report.verdict.reasons).toEqual([]);
    // pod-kill declares silent alerts; this runtime runs without Prometheus, so without Alertmanager
    // (GET /status: alertmanagerUrl null): not checked, with the reason, and not a failure.
    expect(report.alerts).toMatchObject({
      checked: false,
      silent: ['CircuitBreakerOpen', 'OrderSLOErrorBudgetBurnFast'],
    });
    expect(report.alerts?.reason).toMatch(/runs without Alertmanager/);
    expect(report.verdict.objectives.find((o) => o.name === 'silent alerts stayed silent')).toMatchObject({
      passed: false,
      notChecked: true,
      actual: 'not checked',
    });
    expect(result.code).toBe(0);
    const metrics = await (await fetch(`${runtime.controlUrl}/metrics`)).text();
    expect(metrics).toContain('chaos_kills_total{experiment="pod-kill"} 2');
  });

  it('pod-freeze recovers the frozen replica and measures MTTR from the freeze', async () => {
    await waitFor(allReady, 'every replica ready');
    const file = await experimentFile('short-freeze', [
      'description: freeze one order replica for 2 s',
      'action: { kind: pod-freeze, workload: order, duration: 2s }',
      'defaults: { loadRate: 10, minSuccess: 0.5, mttrSlo: 30s, recoveryTimeout: 30s }',
    ]);
    const result = await run(['run', file, '--seed', 'f']);
    const report = await result.report();
    const [round] = report.rounds;
    expect(round!.outcome).toBe('recovered');
    expect(round!.timeline!.kills[0]!.method).toBe('freeze');
    // Recovery cannot come before the thaw: MTTR covers at least the 2 s freeze.
    expect(round!.timeline!.mttrMs!).toBeGreaterThanOrEqual(2000);
    expect(result.code).toBe(0);
  });

  it('injects a fault into every replica with the admin token, removes it after, and judges latency under it', async () => {
    const file = await experimentFile('short-latency', [
      'description: 50 ms latency on order for 300 ms',
      'action: { kind: fault, workload: order, duration: 300ms, fault: { type: latency, latencyMs: 50 } }',
      'defaults: { loadRate: 20 }',
      'objectives: { latencyP95Max: 2s }',
    ]);
    const before = (await readFile(join(dir, 'faults.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean).length;
    const result = await run(['run', file]);
    const requests = (await readFile(join(dir, 'faults.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .slice(before)
      .map((line) => JSON.parse(line) as { method: string; body: unknown });
    const posts = requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[0]!.body).toEqual({ type: 'latency', latencyMs: 50, durationMs: 300 });
    expect(requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
    const report = await result.report();
    expect(report.verdict.objectives.map((o) => o.name)).toContain(
      'latency p95 under the fault (round 1 fault)',
    );
    expect(result.code).toBe(0);
  });

  it('fails the verdict (exit 1) on a planted violation and lists it in report.json, report.html, JUnit and the terminal', async () => {
    await waitFor(allReady, 'every replica ready');
    await writeFile(join(dir, 'plant-leak'), '');
    try {
      const result = await run(['run', 'pod-kill', '--rounds', '1', '--seed', 'leak', '--load-rate', '10']);
      expect(result.code).toBe(1);
      const report = await result.report();
      expect(report.invariants).toMatchObject({
        checked: true,
        violations: [{ kind: 'reservation-for-unknown-order', subject: 'never-stored' }],
      });
      expect(report.verdict.reasons).toContain('1 invariant violations (reservation-for-unknown-order 1)');
      expect(await result.file('junit.xml')).toContain('reservation-for-unknown-order never-stored');
      expect(result.out).toContain('reservation-for-unknown-order never-stored');
      // report.html: one self-contained page with the verdict and the violation, nothing loaded from a network.
      const html = await result.file('report.html');
      expect(html).toContain('reservation-for-unknown-order');
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
    } finally {
      await rm(join(dir, 'plant-leak'));
    }
  });

  it('plans the new experiments in a dry run with the seed, and touches nothing', async () => {
    await waitFor(allReady, 'every replica ready');
    const uids = (await target.listReplicas()).map((r) => r.uid).sort();
    const plans: Record<string, RegExp> = {
      'pod-freeze': /1\s+inventory\s+freeze for 20\.00s inventory-\S+/,
      'database-kill': /1\s+postgres\s+refused: no replica postgres-0 of postgres in scope/,
      burst: /1\s+order\s+200 orders at once for p-001 \(quantity 1 each\)/,
      'cpu-contention': /1\s+\S+\s+with every core busy, kill \S+/,
    };
    for (const [name, plan] of Object.entries(plans)) {
      const first = await run(['run', name, '--dry-run', '--seed', 'plan']);
      expect(first.code).toBe(0);
      expect(first.out).toMatch(plan);
      expect(first.out).toContain('data invariants hold');
      const again = await run(['run', name, '--dry-run', '--seed', 'plan']);
      expect(again.out).toBe(first.out);
    }
    expect((await target.listReplicas()).map((r) => r.uid).sort()).toEqual(uids);
  });

  it('burst: every answer 201 or 409, the orders created acknowledged and read back by the invariants', async () => {
    await waitFor(allReady, 'every replica ready');
    const file = await experimentFile('small-burst', [
      'description: 40 orders at once',
      'action: { kind: burst, orders: 40, productId: p-1 }',
      'defaults: { loadRate: 5 }',
    ]);
    const result = await run(['run', file]);
    const report = await result.report();
    expect(report.rounds[0]!.details).toMatchObject({ orders: 40, created: 40, outOfStock: 0 });
    expect(
      report.verdict.objectives.find((o) => o.name === 'burst answered 201 or 409 only (round 1)'),
    ).toMatchObject({ passed: true, actual: '40 × 2xx, 0 × 409' });
    expect(report.invariants).toMatchObject({ checked: true, violations: [] });
    const invariants = report.invariants as { counts: { acknowledged: number } };
    expect(invariants.counts.acknowledged).toBeGreaterThanOrEqual(40);
    expect(result.code).toBe(0);
  });

  it('cpu-contention kills a pod while one burner per core runs, and stops every burner at the end', async () => {
    await waitFor(allReady, 'every replica ready');
    const file = await experimentFile('short-contention', [
      'description: one pod-kill round with every core busy',
      'action: { kind: cpu-contention, workload: inventory, maxDuration: 2m }',
      'defaults: { rounds: 1, loadRate: 5, mttrSlo: 60s, minSuccess: 0.5 }',
    ]);
    const result = await run(['run', file, '--seed', 'c']);
    const report = await result.report();
    expect(report.rounds.map((r) => r.outcome)).toEqual(['recovered']);
    const started = report.events.find((e) => e.type === 'contention-started') as
      { pids: number[] } | undefined;
    expect(started?.pids.length).toBeGreaterThanOrEqual(1);
    const stopped = report.events.find((e) => e.type === 'contention-stopped');
    expect(stopped).toBeDefined();
    for (const pid of started!.pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(result.code).toBe(0);
  });

  it('takes the admin token from --admin-token: a wrong one leaves the invariants unchecked and fails (exit 1)', async () => {
    await waitFor(allReady, 'every replica ready');
    const file = await experimentFile('token-burst', [
      'description: 5 orders at once',
      'action: { kind: burst, orders: 5, productId: p-1 }',
      'defaults: { loadRate: 5 }',
    ]);
    const result = await run(['run', file, '--admin-token', 'wrong-token']);
    expect(result.code).toBe(1);
    const report = await result.report();
    expect(report.invariants).toMatchObject({ checked: false });
    expect(report.verdict.reasons).toEqual([
      'invariants not checked: GET /admin/audit/summary of order answered 401: {"title":"Unauthorized"}',
    ]);
    const skipped = await run(['run', file, '--admin-token', 'wrong-token', '--no-invariants']);
    expect((await skipped.report()).invariants).toEqual({
      checked: false,
      reason: 'turned off with --no-invariants',
    });
    expect(skipped.code).toBe(0);
  });

  it('stops on SIGINT, still writes the report and exits 2', async () => {
    await waitFor(allReady, 'every replica ready');
    const kills: TargetEvent[] = [];
    const sub = await target.subscribe((e) => {
      if (e.type === 'replica-terminating') kills.push(e);
    });
    const controller = new AbortController();
    const pending = run(['run', 'pod-kill', '--rounds', '50', '--interval', '10s'], controller.signal);
    await waitFor(() => kills.length > 0, 'the first kill');
    await sub.close();
    controller.abort();
    const result = await pending;
    expect(result.code).toBe(2);
    const report = await result.report();
    expect(report.status).toBe('aborted');
    expect(report.rounds.length).toBeLessThan(50);
    expect(await result.file('junit.xml')).toContain('name="run completed"');
  });

  it('says to start the platform when the runtime is not there (exit 2)', async () => {
    const closed = await closedPort();
    const result = await runCli(
      ['run', 'pod-kill', '--target', 'local', '--runtime-url', `http://127.0.0.1:${closed}`],
      {},
    );
    results.push(result);
    expect(result.code).toBe(2);
    expect(result.err).toContain('make up');
  });
});
