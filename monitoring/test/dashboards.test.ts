// Grafana dashboards: structure Grafana 11 provisions, the ${datasource} variable everywhere, a layout
// without overlaps, and PromQL that the real parser accepts (checked through promtool).
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { dashboardFiles, dashboardQueries, loadDashboard } from './promql.ts';
import type { PanelJson } from './promql.ts';

const flatten = (panels: PanelJson[]): PanelJson[] => panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);

describe.each(dashboardFiles)('%s', (file) => {
  const dashboard = loadDashboard(file);
  const panels = flatten(dashboard.panels);
  const dataPanels = panels.filter((p) => p.type !== 'row');

  it('is a Grafana 11 dashboard with a stable uid and a prometheus ${datasource} variable', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.templating?.list[0]).toMatchObject({
      name: 'datasource',
      type: 'datasource',
      query: 'prometheus',
    });
  });

  it('queries through ${datasource} in every panel and target', () => {
    for (const panel of dataPanels) {
      expect({ panel: panel.title, ds: panel.datasource }).toEqual({
        panel: panel.title,
        ds: { type: 'prometheus', uid: '${datasource}' },
      });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe('${datasource}');
    }
  });

  it('has unique panel ids and a 24-column layout without overlaps', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos!;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const key = `${i},${j}`;
          expect({ cell: key, taken: cells.get(key) }).toEqual({ cell: key, taken: undefined });
          cells.set(key, panel.title);
        }
      }
    }
  });

  it('has PromQL that the Prometheus parser accepts', () => {
    // promtool check rules parses every expr with Prometheus' own parser; Grafana's variables are
    // replaced by what Grafana would send.
    const rules = dashboardQueries(dashboard).map(({ expr }, i) => ({
      record: `dashboard:query_${i}`,
      expr: expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h')
        .replaceAll('$__interval', '15s')
        .replaceAll('$service', '.*'),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-promql-'));
    try {
      writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const run = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' });
      if (run.error)
        throw new Error(
          'promtool is not on PATH: install the Debian package prometheus (apt-get install -y prometheus)',
        );
      expect({ status: run.status, output: `${run.stdout}${run.stderr}` }).toEqual({
        status: 0,
        output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
