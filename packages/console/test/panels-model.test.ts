import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isSupportedPanelType,
  layoutRows,
  overridesFor,
  type Dashboard,
} from '../src/shared/dashboard-model.ts';
import { alignMatrix, stateRuns, vectorValues } from '../src/shared/frames.ts';
import { defaultSeriesName, renderLegend } from '../src/shared/legend.ts';
import { reduce } from '../src/shared/reduce.ts';
import { mapValue, thresholdColor, thresholdStep } from '../src/shared/thresholds.ts';

const dashboardsDir = join(fileURLToPath(import.meta.url), '../../../../monitoring/dashboards');
const load = (file: string) => JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard;

describe('legends', () => {
  it('replaces {{label}} with the value, and a missing label with nothing', () => {
    expect(renderLegend('{{service}} → {{dependency}}', { service: 'order', dependency: 'inventory' })).toBe(
      'order → inventory',
    );
    expect(renderLegend('{{ service }} p99', { service: 'order' })).toBe('order p99');
    expect(renderLegend('{{pod}}', {})).toBe('');
  });

  it('names a series without a legend format after its metric and labels', () => {
    expect(defaultSeriesName({ __name__: 'up', job: 'shop' })).toBe('up{job="shop"}');
    expect(defaultSeriesName({ service: 'order' })).toBe('{service="order"}');
  });
});

describe('thresholds and mappings', () => {
  const steps = {
    mode: 'absolute' as const,
    steps: [
      { color: 'green', value: null },
      { color: 'orange', value: 20 },
      { color: 'red', value: 30 },
    ],
  };

  it('colours a value by the last step at or below it; the base step covers everything lower', () => {
    expect(thresholdStep(-5, steps)?.color).toBe('green');
    expect(thresholdStep(20, steps)?.color).toBe('orange');
    expect(thresholdStep(29.9, steps)?.color).toBe('orange');
    expect(thresholdStep(31, steps)?.color).toBe('red');
    expect(thresholdColor(31, steps)).toBe('#F2495C');
  });

  it('maps an exact value to its text and colour', () => {
    const mappings = [{ type: 'value', options: { '2': { text: 'open', color: 'red' } } }];
    expect(mapValue(2, mappings)).toEqual({ text: 'open', color: '#F2495C' });
    expect(mapValue(1, mappings)).toBeUndefined();
  });
});

describe('reducers', () => {
  it('skips nulls for lastNotNull, mean and max', () => {
    const values = [1, null, 3, null];
    expect(reduce(values, 'lastNotNull')).toBe(3);
    expect(reduce(values, 'last')).toBeNull();
    expect(reduce(values, 'mean')).toBe(2);
    expect(reduce(values, 'max')).toBe(3);
    expect(() => reduce(values, 'median')).toThrow('unsupported reducer');
  });
});

describe('frames', () => {
  it('puts series on one step grid with gaps where samples are missing', () => {
    const frame = alignMatrix(
      [
        {
          legendFormat: '{{service}}',
          series: [
            {
              metric: { service: 'order' },
              values: [
                [100, '1'],
                [110, '3'],
              ],
            },
            { metric: { service: 'inventory' }, values: [[105, 'NaN']] },
          ],
        },
      ],
      { start: 100, end: 110, step: 5 },
    );
    expect(frame.times).toEqual([100, 105, 110]);
    expect(frame.series.map((s) => [s.name, s.values])).toEqual([
      ['order', [1, null, 3]],
      ['inventory', [null, null, null]],
    ]);
  });

  it('reads instant vectors with their names', () => {
    expect(vectorValues([{ metric: { experiment: 'pod-kill' }, value: [1, '1'] }], '{{experiment}}')).toEqual(
      [{ name: 'pod-kill', labels: { experiment: 'pod-kill' }, value: 1, time: 1 }],
    );
  });

  it('merges equal consecutive states into runs, and a gap ends a run', () => {
    expect(stateRuns([0, 5, 10, 15, 20], [0, 0, 2, null, 2], 5)).toEqual([
      { from: 0, to: 10, value: 0 },
      { from: 10, to: 15, value: 2 },
      { from: 20, to: 25, value: 2 },
    ]);
  });
});

describe('the two dashboards', () => {
  it('lays out every row with its panels in grid order', () => {
    const rows = layoutRows(load('platform-overview.json'));
    expect(rows.map((r) => r.row?.title)).toEqual([
      'Golden signals',
      'Orders (SLO: 99.5 % of orders confirmed)',
      'Replicas and restarts',
    ]);
    expect(rows[0].panels.map((p) => p.title)).toEqual([
      'Requests per second',
      '5xx error ratio',
      'Latency p50 / p99',
      'Slowest routes (p99)',
    ]);
  });

  it('uses only panel types the console draws', () => {
    for (const file of ['platform-overview.json', 'resilience.json']) {
      for (const p of load(file).panels)
        expect([p.type, isSupportedPanelType(p.type)]).toEqual([p.type, true]);
    }
    expect(isSupportedPanelType('heatmap')).toBe(false);
  });

  it('applies byRegexp and byName overrides to the series they match', () => {
    const latency = load('platform-overview.json').panels.find((p) => p.title === 'Latency p50 / p99');
    expect(overridesFor(latency?.fieldConfig, 'order p50')['custom.lineStyle']).toEqual({
      fill: 'dash',
      dash: [10, 10],
    });
    expect(overridesFor(latency?.fieldConfig, 'order p99')).toEqual({});
    const orders = load('platform-overview.json').panels.find(
      (p) => p.title === 'Orders per second by outcome',
    );
    expect(overridesFor(orders?.fieldConfig, 'failed').color).toEqual({ mode: 'fixed', fixedColor: 'red' });
  });
});
