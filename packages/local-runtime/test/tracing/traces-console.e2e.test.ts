// Traces on the real local runtime: replicas export with the OTLP environment the runtime gives them,
// the control API keeps the spans, and the console (headless Chromium, playwright-core) finds a trace
// and draws it as a waterfall.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { renderReportHtml, type ChaosReportLike } from '@self-healing-shop/console';
import { RESILIENCE_SPAN_EVENTS } from '@self-healing-shop/contracts';
import type { TraceList } from '@self-healing-shop/contracts';
import { startRuntime, type Runtime } from '../../src/index.ts';
import { CHROMIUM_CANDIDATES, findExecutable, waitFor } from '../console/support.ts';
import { exportOrderTrace, type ExportedOrder } from './otel-spans.ts';

const testDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(testDir, '../../../..');
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];

let runtime: Runtime;
let tmp: string;
let browser: BrowserContext;
let order: ExportedOrder;

async function traces(query: string): Promise<TraceList['items']> {
  const response = await fetch(`${runtime.controlUrl}/traces?${query}`);
  return ((await response.json()) as TraceList).items;
}

async function openPage(hash: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${runtime.consoleUrl}/${hash}`);
  return { page, errors };
}

beforeAll(async () => {
  const chromiumPath = await findExecutable('chromium', CHROMIUM_CANDIDATES);
  if (!chromiumPath) throw new Error('these tests need Chromium: `sudo apt-get install -y chromium`');
  tmp = await mkdtemp(join(os.tmpdir(), 'traces-e2e-'));
  runtime = await startRuntime({
    rootDir: repoRoot,
    k8sDir: join(testDir, '../console/k8s'),
    dataDir: join(tmp, 'data'),
    controlPort: 0,
    frontPorts: {},
    postgres: false,
    prometheus: false,
    alertmanager: false,
    console: { port: 0 },
    command: () => ({ command: process.execPath, args: [join(testDir, 'trace-service.ts')] }),
    timeScale: 0.2,
    hpaIntervalMs: 3_600_000,
    logger: pino({ level: 'silent' }),
  });
  browser = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 900 },
  });
  order = await exportOrderTrace(runtime.controlUrl, {
    orderId: 'ord-e2e-1',
    idempotencyKey: 'key-e2e-1',
    failed: true,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

// Browser steps on a loaded 2-core machine can take longer than Jest's default 30 s.
jest.setTimeout(90_000);

describe('traces on the local runtime', () => {
  it('receives the spans every replica exports with the OTLP environment the runtime gives it', async () => {
    const replicas = await waitFor(() => {
      const ready = runtime.replicas().filter((r) => r.kind === 'Deployment' && r.ready);
      return ready.length >= 3 && ready;
    }, 'the fixture replicas ready');
    for (const replica of replicas) {
      const found = await waitFor(async () => {
        const items = await traces(`service=${replica.service}&limit=500`);
        for (const item of items) {
          const view = (await (await fetch(`${runtime.controlUrl}/traces/${item.traceId}`)).json()) as {
            spans: Array<{ service: string; attributes: Record<string, unknown> }>;
          };
          const span = view.spans.find((s) => s.attributes['pod'] === replica.name);
          if (span) return span;
        }
        return undefined;
      }, `a span from ${replica.name}`);
      expect(found.service).toBe(replica.service);
    }
  });

  it('draws a trace as a waterfall: spans nested by parent, service colours, error and span events marked', async () => {
    const { page, errors } = await openPage(`#/traces/${order.traceId}`);
    await page.waitForSelector('.waterfall-row[data-span-id]');
    // A string, evaluated in the page: this repository's TypeScript has no DOM library.
    const rows =
      (await page.evaluate(`[...document.querySelectorAll('.waterfall-row[data-span-id]')].map((n) => ({
      spanId: n.getAttribute('data-span-id'),
      depth: n.getAttribute('data-depth'),
      service: n.getAttribute('data-service'),
      name: n.querySelector('.span-name').textContent,
      error: n.classList.contains('error'),
      events: [...n.querySelectorAll('.span-event-mark')].map((m) => m.getAttribute('data-event')),
      barColor: getComputedStyle(n.querySelector('.span-bar')).backgroundColor,
      barLeft: n.querySelector('.span-bar').style.left,
    }))`)) as Array<{
        spanId: string;
        depth: string;
        service: string;
        name: string;
        error: boolean;
        events: string[];
        barColor: string;
        barLeft: string;
      }>;
    expect(rows.map((r) => [r.spanId, r.depth, r.service, r.name, r.error])).toEqual([
      [order.orderSpanId, '0', 'order', 'POST /orders', true],
      [order.reserveSpanId, '1', 'order', 'POST inventory /reservations', false],
      [order.inventorySpanId, '2', 'inventory', 'POST /reservations', false],
    ]);
    expect(rows[0]!.barLeft).toBe('0%');
    expect(rows[1]!.events).toEqual([RESILIENCE_SPAN_EVENTS.retry]);
    expect(rows[0]!.barColor).toBe(rows[1]!.barColor);
    expect(rows[2]!.barColor).not.toBe(rows[0]!.barColor);
    expect(await page.textContent('.trace-view .meta')).toContain('order ord-e2e-1');
    // A click shows the span's attributes.
    await page.click(`.waterfall-row[data-span-id="${order.reserveSpanId}"] .span-track`);
    expect(await page.textContent('.span-details')).toContain('shop.dependency');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('follows the link from an outbox confirmation to its order trace', async () => {
    const { page, errors } = await openPage(`#/traces/${order.confirmationTraceId}`);
    const link = await page.waitForSelector('.span-link');
    expect(await link.getAttribute('href')).toBe(`#/traces/${order.traceId}`);
    await link.click();
    await page.waitForSelector(`.trace-view[data-trace-id="${order.traceId}"]`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('finds the traces of an order by its id, errors marked, and opens one', async () => {
    const { page, errors } = await openPage('#/traces');
    await page.fill('input[name="q"]', 'ord-e2e-1');
    await page.click('.trace-search button');
    await page.waitForSelector(`.trace-list tr[data-trace-id="${order.confirmationTraceId}"]`);
    const listed = await page.$$eval('.trace-list tbody tr', (nodes) =>
      nodes.map((n) => [n.getAttribute('data-trace-id'), n.classList.contains('error')]),
    );
    expect(listed).toEqual(
      expect.arrayContaining([
        [order.traceId, true],
        [order.confirmationTraceId, false],
      ]),
    );
    expect(listed).toHaveLength(2);
    await page.click(`.trace-list tr[data-trace-id="${order.traceId}"] a`);
    await page.waitForSelector(`.trace-view[data-trace-id="${order.traceId}"]`);
    // A trace id typed in the box opens that trace.
    await page.fill('input[name="q"]', order.confirmationTraceId);
    await page.click('.trace-search button');
    await page.waitForSelector(`.trace-view[data-trace-id="${order.confirmationTraceId}"]`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says so when a trace is not kept', async () => {
    const { page } = await openPage(`#/traces/${'f'.repeat(32)}`);
    const message = await page.waitForSelector('.traces-body .bad');
    expect(await message.textContent()).toContain('no trace ffffffff');
    await page.close();
  });

  it('lists the failed orders of a chaos report with links to their traces (report.html opened from disk)', async () => {
    const fixture = JSON.parse(
      await readFile(join(repoRoot, 'packages/console/test/fixtures/report.json'), 'utf8'),
    ) as ChaosReportLike;
    const [first, ...rest] = fixture.load!.segments!;
    const failedTraces = [
      {
        traceId: order.traceId,
        kind: 'http_503',
        idempotencyKey: 'key-e2e-1',
        at: first!.report.startedAt as string,
      },
    ];
    const report: ChaosReportLike = {
      ...fixture,
      load: {
        ...fixture.load,
        segments: [{ ...first!, report: { ...first!.report, failedTraces } }, ...rest],
      },
    };
    const file = join(tmp, 'report.html');
    await writeFile(file, renderReportHtml(report));
    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href);
    const link = await page.waitForSelector(
      `#failed-orders tr[data-trace-id="${order.traceId}"] a.trace-link`,
    );
    // Opened from disk, the link leads to the console's trace view on its usual port.
    expect(await link.getAttribute('href')).toBe(`http://127.0.0.1:3000/#/traces/${order.traceId}`);
    expect(await page.textContent('#failed-orders h2')).toBe('Failed orders (1)');
    await page.close();
  });
});
