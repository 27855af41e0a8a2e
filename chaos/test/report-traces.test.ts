import { describe, expect, it } from '@jest/globals';
import type { ChaosReport } from '../src/report/report.ts';
import { failedOrderLines } from '../src/report/terminal.ts';

const A = 'a'.repeat(32);

function report(
  kind: 'local' | 'kubernetes',
  failures: number,
  omitted = 0,
  traceViewBase?: string,
): ChaosReport {
  const failedTraces = Array.from({ length: failures }, (_, i) => ({
    traceId: i === 0 ? A : i.toString(16).padStart(32, '0'),
    kind: 'http_503',
    idempotencyKey: `k-${i}`,
    at: `2026-12-01T12:00:${String(10 + i).padStart(2, '0')}.000Z`,
  }));
  return {
    target: { kind, description: 'test', ...(traceViewBase ? { traceViewBase } : {}) },
    load: { total: { failedTraces, failedTracesOmitted: omitted } },
  } as unknown as ChaosReport;
}

describe('failed orders in the terminal summary', () => {
  it('prints the first five failed orders with a link to the console trace view, and the count of all', () => {
    const lines = failedOrderLines(report('local', 8, 2));
    expect(lines[0]).toBe('traces of failed orders (10; first 5, all in report.html):');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toBe(`  2026-12-01T12:00:10.000Z  http_503      http://127.0.0.1:3000/#/traces/${A}`);
  });

  it("links to the runtime's console where it runs when port 3000 was taken", () => {
    expect(failedOrderLines(report('local', 1, 0, 'http://127.0.0.1:30612'))[1]).toBe(
      `  2026-12-01T12:00:10.000Z  http_503      http://127.0.0.1:30612/#/traces/${A}`,
    );
  });

  it('links to Grafana Explore on Kubernetes', () => {
    expect(failedOrderLines(report('kubernetes', 1))[1]).toContain('http://127.0.0.1:3000/explore?');
  });

  it('prints nothing when no order failed', () => {
    expect(failedOrderLines(report('local', 0))).toEqual([]);
  });
});
