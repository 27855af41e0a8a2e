import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReportHtml } from '../src/report-html.ts';
import { reportView } from '../src/report-model.ts';
import type { ChaosReportLike, LoadReportLike } from '../src/report-types.ts';

const fixture = join(fileURLToPath(import.meta.url), '../fixtures/report.json');
const base = JSON.parse(readFileSync(fixture, 'utf8')) as ChaosReportLike;
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

function withFailures(kind: string): ChaosReportLike {
  const segments = base.load!.segments!.map((s, i) => ({
    ...s,
    report: {
      ...s.report,
      failedTraces:
        i === 1
          ? [
              { traceId: B, kind: 'timeout', idempotencyKey: 'k-b', at: '2026-12-01T12:00:31.000Z' },
              { traceId: A, kind: 'http_503', idempotencyKey: 'k-a', at: '2026-12-01T12:00:30.500Z' },
            ]
          : [],
      failedTracesOmitted: i === 1 ? 7 : 0,
    } satisfies LoadReportLike,
  }));
  return { ...base, target: { kind, description: 'x' }, load: { ...base.load, segments } };
}

describe('failed orders in the chaos report', () => {
  it('lists every failed order in time order, with its segment and a link to the console trace view', () => {
    const view = reportView(withFailures('local'));
    expect(view.failedOrders).toEqual([
      {
        traceId: A,
        kind: 'http_503',
        idempotencyKey: 'k-a',
        at: '2026-12-01T12:00:30.500Z',
        segment: base.load!.segments![1]!.name,
        traceUrl: `http://127.0.0.1:3000/#/traces/${A}`,
      },
      expect.objectContaining({ traceId: B, traceUrl: `http://127.0.0.1:3000/#/traces/${B}` }),
    ]);
    expect(view.failedOrdersOmitted).toBe(7);
  });

  it('links to the console the report names, when it ran off its default port', () => {
    const report = withFailures('local');
    const moved = { ...report, target: { ...report.target!, traceViewBase: 'http://127.0.0.1:30612/' } };
    expect(reportView(moved).failedOrders[0]!.traceUrl).toBe(`http://127.0.0.1:30612/#/traces/${A}`);
  });

  it('links to Grafana Explore on the Jaeger datasource on Kubernetes', () => {
    const url = new URL(reportView(withFailures('kubernetes')).failedOrders[0]!.traceUrl);
    expect(url.origin + url.pathname).toBe('http://127.0.0.1:3000/explore');
    const panes = JSON.parse(url.searchParams.get('panes')!) as Record<
      string,
      { datasource: string; queries: Array<{ query: string }> }
    >;
    const pane = Object.values(panes)[0]!;
    expect(pane.datasource).toBe('jaeger');
    expect(pane.queries[0]!.query).toBe(A);
  });

  it('has no failed orders for a report without traces (an older report)', () => {
    expect(reportView(base).failedOrders).toEqual([]);
  });

  it('puts the rows in report.html', () => {
    const html = renderReportHtml(withFailures('local'));
    expect(html).toContain(`"traceUrl":"http://127.0.0.1:3000/#/traces/${A}"`);
  });
});
