import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReportHtml } from '../src/report-html.ts';
import { reportView } from '../src/report-model.ts';
import type { ChaosReportLike } from '../src/report-types.ts';

const fixture = join(fileURLToPath(import.meta.url), '../fixtures/report.json');
const report = JSON.parse(readFileSync(fixture, 'utf8')) as ChaosReportLike;
const T0 = Date.parse('2026-12-01T12:00:00.000Z');

describe('chaos report view', () => {
  const view = reportView(report);

  it('shades each disruption from the kill to full strength, or to the end of a round that never recovered', () => {
    expect(view.windows).toEqual([
      { round: 1, from: T0 + 10_000, to: T0 + 13_000, recovered: true },
      { round: 2, from: T0 + 30_000, to: T0 + 60_000, recovered: false },
    ]);
  });

  it('marks kills and recoveries in time order', () => {
    expect(view.markers.map((m) => [m.at - T0, m.kind])).toEqual([
      [10_000, 'kill'],
      [10_200, 'gone'],
      [10_300, 'replacement'],
      [12_800, 'ready'],
      [13_000, 'full-strength'],
      [30_000, 'kill'],
    ]);
  });

  it('lists MTTR per round, none for a round that did not recover', () => {
    expect(view.rounds.map((r) => [r.round, r.workload, r.victims, r.outcome, r.mttrMs])).toEqual([
      [1, 'order', 'order-a1', 'recovered', 3000],
      [2, 'inventory', 'inventory-c3', 'not-recovered', null],
    ]);
  });

  it('turns load segments into steps of orders per second and latency', () => {
    expect(view.load.source).toBe('segments');
    expect(view.load.times).toEqual([
      T0 / 1000,
      (T0 + 9_999) / 1000,
      (T0 + 10_000) / 1000,
      (T0 + 59_999) / 1000,
    ]);
    // baseline: 500 succeeded in 10 s; fault: 2,470 in 50 s
    expect(view.load.ordersPerSecond).toEqual([50, 50, 49.4, 49.4]);
    expect(view.load.failedPerSecond).toEqual([0, 0, 0.6, 0.6]);
    expect(view.load.p99Ms).toEqual([50, 50, 160, 160]);
  });

  it('prefers per-interval samples when the report has them', () => {
    const withSamples: ChaosReportLike = {
      ...report,
      load: {
        ...report.load,
        series: [{ at: T0 + 2000, intervalMs: 1000, sent: 50, succeeded: 48, failed: 2, p95Ms: 40 }],
      },
    };
    const load = reportView(withSamples).load;
    expect([load.source, load.times, load.ordersPerSecond, load.failedPerSecond, load.p95Ms]).toEqual([
      'samples',
      [(T0 + 2000) / 1000],
      [48],
      [2],
      [40],
    ]);
  });

  it('computes the success ratio of the counted orders and keeps the invariant violations', () => {
    expect(view.successRatio).toBe(0.99);
    expect(view.violations.map((v) => [v.kind, v.subject])).toEqual([['stock-not-conserved', 'p-001']]);
    expect(view.invariants).toBe('invariants checked: 1 violation(s)');
  });

  it('says when the invariants were not checked, and reads top-level violations of older reports', () => {
    const skipped = reportView({ ...report, invariants: { checked: false, reason: '--no-invariants' } });
    expect([skipped.invariants, skipped.violations]).toEqual(['invariants not checked: --no-invariants', []]);
    const older = reportView({
      ...report,
      invariants: undefined,
      violations: [{ kind: 'k', subject: 's', detail: 'd' }],
    });
    expect([older.invariants, older.violations.length]).toEqual(['1 invariant violation(s)', 1]);
  });

  it('rejects input that is not a chaos report', () => {
    expect(() => reportView({} as ChaosReportLike)).toThrow('not a chaos report');
  });
});

describe('renderReportHtml', () => {
  const html = renderReportHtml(report);

  it('is one self-contained page: no external script, stylesheet or URL fetched', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).toContain('uPlot');
  });

  it('names the experiment and the verdict in its title', () => {
    expect(html).toContain('<title>Chaos report: pod-kill — FAIL</title>');
  });

  it('cannot be broken out of by text in the report', () => {
    const hostile = renderReportHtml({
      ...report,
      experiment: { name: '</script><script>alert(1)</script>' },
    });
    expect(hostile).not.toContain('</script><script>alert(1)');
  });
});
