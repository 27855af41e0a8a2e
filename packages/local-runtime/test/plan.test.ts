// The start-up plan (pure) and the port check that `up` runs once before handing the plan over.
import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { DeploymentSpec } from '../src/manifests/deployment-spec.ts';
import type { Platform } from '../src/manifests/manifests.ts';
import { checkPorts, PortBusyError } from '../src/start-up/check-ports.ts';
import { planRuntime } from '../src/start-up/plan.ts';

const probe = {
  path: '/ready',
  headers: {},
  initialDelayMs: 0,
  periodMs: 10_000,
  timeoutMs: 1_000,
  successThreshold: 1,
  failureThreshold: 3,
};
const order: DeploymentSpec = {
  name: 'order',
  kind: 'Deployment',
  labels: {},
  podLabels: {},
  service: 'order',
  namespace: 'shop',
  file: 'order.yaml',
  containerName: 'order',
  readinessProbe: probe,
  preStopSleepMs: 5_000,
  terminationGracePeriodMs: 20_000,
  stopSignal: 'SIGTERM',
  replicas: 2,
  maxSurge: 1,
  maxUnavailable: 0,
  httpPort: 8080,
  env: [],
  progressDeadlineSeconds: 600,
};
const platform: Platform = { deployments: [order], autoscalers: [] };

async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    release: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('planRuntime', () => {
  it('plans the README ports for the services the manifests run, the database, Prometheus, Alertmanager and the console', () => {
    const plan = planRuntime(
      { rootDir: '/repo' },
      platform,
      '/usr/bin/prometheus',
      '/usr/bin/prometheus-alertmanager',
    );
    expect(plan.ports.map((p) => [p.what, p.port, p.flag, p.optional])).toEqual([
      ['control API', 7070, '--control-port', false],
      ['order front port', 8080, '--front-port', false],
      ['PostgreSQL', 5433, '--postgres-port', false],
      ['Prometheus', 9090, '--prometheus-port', true],
      ['Alertmanager', 9093, '--alertmanager-port', true],
      ['console', 3000, '--console-port', true],
    ]);
    expect(plan.alertmanager).toEqual({
      binary: '/usr/bin/prometheus-alertmanager',
      port: 9093,
      dataDir: '/repo/.data/alertmanager',
    });
    expect(plan.console).toEqual({
      port: 3000,
      dashboardsDir: '/repo/monitoring/dashboards',
      reportsDir: '/repo/reports/chaos',
    });
    expect(plan.dataDir).toBe('/repo/.data');
    expect(plan.database).toMatchObject({
      port: 5433,
      dataDir: '/repo/.data/postgres',
      spec: { name: 'postgres', kind: 'StatefulSet' },
    });
    expect(plan.prometheus).toEqual({
      binary: '/usr/bin/prometheus',
      port: 9090,
      dataDir: '/repo/.data/prometheus',
    });
    expect(plan.notes).toEqual([]);
  });

  it('runs without Prometheus when it is not installed, and says how to install it', () => {
    const plan = planRuntime({ rootDir: '/repo' }, platform, undefined);
    expect(plan.prometheus).toBeUndefined();
    expect(plan.ports.some((p) => p.what === 'Prometheus')).toBe(false);
    // Alertmanager only receives from Prometheus: not planned, and no second note about it.
    expect(plan.alertmanager).toBeUndefined();
    expect(plan.notes).toHaveLength(1);
    expect(plan.notes[0]).toContain('https://prometheus.io/download/');
  });

  it('runs without Alertmanager when it is not installed, and says how to install it', () => {
    const plan = planRuntime({ rootDir: '/repo' }, platform, '/usr/bin/prometheus', undefined);
    expect(plan.alertmanager).toBeUndefined();
    expect(plan.ports.some((p) => p.what === 'Alertmanager')).toBe(false);
    expect(plan.notes).toHaveLength(1);
    expect(plan.notes[0]).toContain('apt-get install -y --no-install-recommends prometheus-alertmanager');
    expect(plan.notes[0]).toContain('brew install alertmanager');
  });

  it('leaves the console out when told to', () => {
    const plan = planRuntime({ rootDir: '/repo', console: false }, platform, undefined);
    expect(plan.console).toBeUndefined();
    expect(plan.ports.some((p) => p.what === 'console')).toBe(false);
  });

  it('scales probe timings, preStop and grace periods for tests', () => {
    const plan = planRuntime(
      { rootDir: '/repo', timeScale: 0.2, postgres: false, prometheus: false, console: false },
      platform,
      undefined,
    );
    expect(plan.deployments[0]).toMatchObject({
      preStopSleepMs: 1_000,
      terminationGracePeriodMs: 4_000,
      readinessProbe: { periodMs: 2_000, timeoutMs: 200 },
    });
    expect(plan.database).toBeUndefined();
    // Plain data: the daemon receives it as JSON.
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});

describe('checkPorts', () => {
  it('fails on a taken control port, naming the holder and the flag that moves it', async () => {
    const held = await holdPort();
    try {
      const plan = planRuntime(
        {
          rootDir: '/repo',
          controlPort: held.port,
          frontPorts: {},
          postgres: false,
          prometheus: false,
          console: false,
        },
        platform,
        undefined,
      );
      const failure = checkPorts(plan);
      await expect(failure).rejects.toBeInstanceOf(PortBusyError);
      await expect(failure).rejects.toThrow(
        `control API: 127.0.0.1:${held.port} is in use by pid ${process.pid}`,
      );
      await expect(failure).rejects.toThrow(
        `(kill ${process.pid}), or start on another port with --control-port <port>`,
      );
    } finally {
      await held.release();
    }
  });

  it('moves Prometheus to a free port when its port is taken, and says so', async () => {
    const held = await holdPort();
    try {
      const plan = planRuntime(
        {
          rootDir: '/repo',
          controlPort: 0,
          frontPorts: {},
          postgres: false,
          prometheus: { port: held.port },
          alertmanager: false,
          console: false,
        },
        platform,
        '/usr/bin/prometheus',
      );
      const checked = await checkPorts(plan);
      expect(checked.prometheus!.port).not.toBe(held.port);
      expect(checked.prometheus!.port).toBeGreaterThan(0);
      expect(checked.ports.find((p) => p.what === 'Prometheus')!.port).toBe(checked.prometheus!.port);
      expect(checked.notes).toHaveLength(1);
      // The holder's command line is cut at 120 characters: in a deep checkout that is inside the path
      // of Jest's own script, so only the Node executable at its start is sure to be shown.
      expect(checked.notes[0]).toMatch(
        new RegExp(
          `^Prometheus: 127\\.0\\.0\\.1:${held.port} is in use by pid ${process.pid} \\(.*node.*\\), so it runs on 127\\.0\\.0\\.1:${checked.prometheus!.port} instead \\(--prometheus-port <port> chooses one\\)$`,
        ),
      );
    } finally {
      await held.release();
    }
  });

  it('moves the console and Alertmanager to free ports when theirs are taken, and says so', async () => {
    const held = await holdPort();
    try {
      const plan = planRuntime(
        {
          rootDir: '/repo',
          controlPort: 0,
          frontPorts: {},
          postgres: false,
          prometheus: { port: 0 },
          alertmanager: { port: held.port },
          console: { port: held.port },
        },
        platform,
        '/usr/bin/prometheus',
        '/usr/bin/prometheus-alertmanager',
      );
      const checked = await checkPorts(plan);
      expect(checked.alertmanager!.port).not.toBe(held.port);
      expect(checked.console!.port).not.toBe(held.port);
      expect(checked.notes).toHaveLength(2);
      expect(checked.notes[0]).toContain(
        `so it runs on 127.0.0.1:${checked.alertmanager!.port} instead (--alertmanager-port <port> chooses one)`,
      );
      expect(checked.notes[1]).toContain(
        `so it runs on 127.0.0.1:${checked.console!.port} instead (--console-port <port> chooses one)`,
      );
    } finally {
      await held.release();
    }
  });
});
