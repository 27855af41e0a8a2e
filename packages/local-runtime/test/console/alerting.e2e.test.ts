// Alerting on the local runtime, end to end: the runtime starts the real Alertmanager and the console
// itself; the real Prometheus evaluates the repository's rules (monitoring/rules, unchanged) and sends a
// firing alert to Alertmanager; `status` and the console's live view (headless Chromium) show it.
//
// The alert: CircuitBreakerOpen (`resilience_circuit_state{state="open"} == 1` for 1m), because it is the
// rule with the shortest `for:` that a replica can drive on its own. DeploymentReplicasNotReady (kill all
// replicas) needs 5 minutes of `for:`, too long for a test; its timing is proven by the promtool tests.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startConsole } from '@self-healing-shop/console';
import { pino } from 'pino';
import { chromium, type BrowserContext } from 'playwright-core';
import { startRuntime, type Runtime } from '../../src/index.ts';
import { CHROMIUM_CANDIDATES, findExecutable, freePort, waitFor } from './support.ts';

const testDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(testDir, '../../../..');
const cli = join(testDir, '../../src/cli.ts');
const silent = pino({ level: 'silent' });

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

let runtime: Runtime;
let tmp: string;
let browser: BrowserContext | undefined;
let chromiumPath: string;

async function alertsIn(url: string): Promise<Alert[]> {
  const res = await fetch(`${url}/api/v2/alerts?active=true`);
  if (!res.ok) throw new Error(`${url}/api/v2/alerts: ${res.status}`);
  return (await res.json()) as Alert[];
}

const isCircuitAlert = (a: Alert) => a.labels['alertname'] === 'CircuitBreakerOpen';

// The alert fires once, about a minute after start (the rule's `for: 1m`); every test that needs it
// waits for it here, whichever test runs first.
let firing: Promise<Alert[]> | undefined;
function circuitAlertsFiring(): Promise<Alert[]> {
  firing ??= waitFor(
    async () => {
      const list = (await alertsIn(runtime.alertmanagerUrl!)).filter(isCircuitAlert);
      return list.length === 2 ? list : undefined;
    },
    'CircuitBreakerOpen of both order replicas in Alertmanager (the rule says for: 1m)',
    150_000,
  );
  return firing;
}

beforeAll(async () => {
  const prometheus = await findExecutable('prometheus', ['/usr/bin/prometheus']);
  const alertmanager = await findExecutable('prometheus-alertmanager', ['/usr/bin/prometheus-alertmanager']);
  const chromiumFound = await findExecutable('chromium', CHROMIUM_CANDIDATES);
  const missing = [
    prometheus ? null : 'prometheus',
    alertmanager ? null : 'prometheus-alertmanager',
    chromiumFound ? null : 'chromium',
  ].filter((x) => x !== null);
  if (missing.length > 0) {
    throw new Error(
      `these tests need ${missing.join(', ')}: \`sudo apt-get install -y --no-install-recommends ${missing.join(' ')}\``,
    );
  }
  chromiumPath = chromiumFound!;
  tmp = await mkdtemp(join(os.tmpdir(), 'alerting-e2e-'));
  runtime = await startRuntime({
    rootDir: repoRoot,
    k8sDir: join(testDir, 'k8s'),
    dataDir: join(tmp, 'data'),
    controlPort: 0,
    frontPorts: {},
    postgres: false,
    prometheus: { port: await freePort(), binary: prometheus! },
    alertmanager: { port: await freePort(), binary: alertmanager! },
    console: { port: 0 },
    command: () => ({ command: process.execPath, args: [join(testDir, 'metrics-service.ts')] }),
    // The order replicas report their circuit to inventory open.
    env: { OPEN_CIRCUIT: 'inventory' },
    timeScale: 0.2,
    hpaIntervalMs: 3_600_000,
    logger: silent,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

describe('alerting on the local runtime', () => {
  it('starts Alertmanager and the console, and says where in /status', async () => {
    expect(runtime.alertmanagerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(runtime.consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const info = (await (await fetch(`${runtime.controlUrl}/status`)).json()) as Record<string, unknown>;
    expect(info['alertmanagerUrl']).toBe(runtime.alertmanagerUrl);
    expect(info['consoleUrl']).toBe(runtime.consoleUrl);
    // Prometheus was configured with this Alertmanager (its discovery takes a moment after start).
    const urls = await waitFor(async () => {
      const res = await fetch(`${runtime.prometheusUrl}/api/v1/alertmanagers`);
      const body = (await res.json()) as { data: { activeAlertmanagers: Array<{ url: string }> } };
      const list = body.data.activeAlertmanagers.map((a) => a.url);
      return list.length > 0 ? list : undefined;
    }, 'an active Alertmanager in Prometheus');
    expect(urls).toEqual([`${runtime.alertmanagerUrl}/api/v2/alerts`]);
  });

  it('routes an alert the repository rules fire to Alertmanager, with its labels and summary', async () => {
    const alerts = await circuitAlertsFiring();
    for (const alert of alerts) {
      expect(alert.labels).toMatchObject({
        alertname: 'CircuitBreakerOpen',
        severity: 'warning',
        service: 'order',
        dependency: 'inventory',
        namespace: 'shop',
      });
      expect(alert.annotations['summary']).toBe(`Circuit to inventory open in ${alert.labels['pod']}`);
      expect(alert.status.state).toBe('active');
    }
    expect(new Set(alerts.map((a) => a.labels['pod']))).toEqual(
      new Set(
        runtime
          .replicas()
          .filter((r) => r.service === 'order')
          .map((r) => r.name),
      ),
    );
    // Inventory's circuit (to the database) stays closed: no alert for it.
    const all = await alertsIn(runtime.alertmanagerUrl!);
    expect(all.filter((a) => a.labels['service'] === 'inventory')).toEqual([]);
  }, 180_000);

  it('shows the firing alert through the console API and in `status`', async () => {
    await circuitAlertsFiring();
    const res = await fetch(`${runtime.consoleUrl}/api/alertmanager/api/v2/alerts?active=true`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Alert[]).filter(isCircuitAlert)).toHaveLength(2);
    const settings = (await (await fetch(`${runtime.consoleUrl}/api/settings`)).json()) as {
      alertmanager: { available: boolean };
    };
    expect(settings.alertmanager.available).toBe(true);
    // Read-only: nothing is posted or silenced through the console.
    const post = await fetch(`${runtime.consoleUrl}/api/alertmanager/api/v2/silences`, { method: 'POST' });
    expect(post.status).toBe(404);
    const other = await fetch(`${runtime.consoleUrl}/api/alertmanager/-/reload`);
    expect(other.status).toBe(404);

    const port = new URL(runtime.controlUrl).port;
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'status', '--control-port', port]);
    const lines = stdout.split('\n').filter((line) => line.startsWith('CircuitBreakerOpen'));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/CircuitBreakerOpen\s+warning\s+order\s+active\s/);
  }, 180_000);

  it('lists the firing alert in the live view of the console', async () => {
    await circuitAlertsFiring();
    browser = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      viewport: { width: 1440, height: 1000 },
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${runtime.consoleUrl}/#/live`);
    const rows = page.locator('.alerts tr.alert[data-alertname="CircuitBreakerOpen"]');
    await rows.first().waitFor({ timeout: 30_000 });
    expect(await rows.count()).toBe(2);
    expect(await rows.first().innerText()).toContain('Circuit to inventory open in order-');
    const shots = process.env['CONSOLE_SCREENSHOTS_DIR'];
    if (shots) await page.screenshot({ path: join(shots, 'live-alerts.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 180_000);
});

describe('console without Alertmanager', () => {
  it('answers 503 with the install command', async () => {
    const bare = await startConsole({
      port: 0,
      controlUrl: 'http://127.0.0.1:9',
      prometheusUrl: null,
      alertmanagerUrl: null,
      dashboardsDir: join(repoRoot, 'monitoring/dashboards'),
      reportsDir: tmp,
      logger: silent,
    });
    try {
      const res = await fetch(`${bare.url}/api/alertmanager/api/v2/alerts`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = (await res.json()) as { detail: string; install: string };
      expect(body.install).toContain('apt-get install -y --no-install-recommends prometheus-alertmanager');
      expect(body.install).toContain('brew install alertmanager');
    } finally {
      await bare.close();
    }
  });
});
