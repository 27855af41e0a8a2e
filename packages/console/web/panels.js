/* global document */
// Draws one panel from its query results: timeseries (uPlot), stat, gauge, bargauge, state-timeline.
import uPlot from '/vendor/uPlot.esm.js';
import { alignMatrix, vectorValues, stateRuns } from '/shared/frames.ts';
import { formatValue } from '/shared/units.ts';
import { thresholdColor, mapValue, resolveColor } from '/shared/thresholds.ts';
import { reduce, REDUCER_LABELS } from '/shared/reduce.ts';
import { isSupportedPanelType, overridesFor } from '/shared/dashboard-model.ts';

// Grafana's classic palette, in order.
const PALETTE = [
  '#7EB26D',
  '#EAB839',
  '#6ED0E0',
  '#EF843C',
  '#E24D42',
  '#1F78C1',
  '#BA43A9',
  '#705DA0',
  '#508642',
  '#CCA300',
  '#447EBC',
  '#C15C17',
];

function div(cls, text) {
  const d = document.createElement('div');
  if (cls) d.className = cls;
  if (text !== undefined) d.textContent = text;
  return d;
}

function message(body, text) {
  body.replaceChildren(div('panel-message', text));
}

function rangeSeries(results) {
  return results
    .filter((r) => !r.instant)
    .map((r) => ({ series: r.result, legendFormat: r.target.legendFormat }));
}

/** Every series reduced to one value: instant results as they are, range results by the panel's reducer. */
function reducedValues(panel, results, ctx) {
  const calc = panel.options?.reduceOptions?.calcs?.[0] ?? 'lastNotNull';
  const out = [];
  for (const r of results) {
    if (r.instant) out.push(...vectorValues(r.result, r.target.legendFormat));
    else {
      const frame = alignMatrix([{ series: r.result, legendFormat: r.target.legendFormat }], ctx.grid);
      for (const s of frame.series)
        out.push({ name: s.name, value: reduce(s.values, calc), values: s.values });
    }
  }
  return out;
}

function display(panel, value) {
  const d = panel.fieldConfig?.defaults ?? {};
  const mapped = value === null ? undefined : mapValue(value, d.mappings);
  const color =
    mapped?.color ?? (value === null ? '#8e8e8e' : (thresholdColor(value, d.thresholds) ?? '#73BF69'));
  const text = mapped?.text ?? formatValue(value, d.unit, { decimals: d.decimals });
  return { text, color };
}

function drawTimeseries(p, results, ctx) {
  const { panel, body } = p;
  const frame = alignMatrix(rangeSeries(results), ctx.grid);
  if (frame.series.length === 0) return message(body, 'No data');
  const d = panel.fieldConfig?.defaults ?? {};
  const custom = d.custom ?? {};
  const unit = d.unit;
  const fmt = (v) => (v === null || v === undefined ? '' : formatValue(v, unit, { decimals: d.decimals }));
  const series = frame.series.map((s, i) => {
    const o = overridesFor(panel.fieldConfig, s.name);
    const color = o.color?.fixedColor ? resolveColor(o.color.fixedColor) : PALETTE[i % PALETTE.length];
    const style = o['custom.lineStyle'] ?? custom.lineStyle;
    const fillOpacity = (o['custom.fillOpacity'] ?? custom.fillOpacity ?? 0) / 100;
    const alpha = Math.round(fillOpacity * 255)
      .toString(16)
      .padStart(2, '0');
    return {
      label: s.name,
      stroke: color,
      width: custom.lineWidth ?? 1,
      dash: style?.fill === 'dash' ? style.dash : undefined,
      fill: fillOpacity > 0 ? `${color}${alpha}` : undefined,
      value: (_u, v) => fmt(v),
      spanGaps: !!custom.spanNulls,
    };
  });
  const steps = (d.thresholds?.steps ?? []).filter((s) => s.value !== null);
  const box = div('uplot-box');
  const legend = buildLegend(panel, frame, series, fmt);
  // The legend gets what it needs up to 40 % of the panel (then scrolls); the chart gets the rest.
  legend.style.maxHeight = `${Math.floor(p.heightPx * 0.4)}px`;
  body.replaceChildren(box, legend);
  const width = Math.max(200, body.clientWidth - 8);
  const height = Math.max(60, p.heightPx - legend.offsetHeight - 6);
  // Axis labels: the value format without trailing zeros ("0.5", "2%"), and a gutter wide enough for them.
  const tickText = (v) =>
    fmt(v)
      .replace(/(\.\d*?)0+(?=\D|$)/, '$1')
      .replace(/\.(?=\D|$)/, '');
  const ySize = (_u, values) => (values ? Math.max(...values.map((v) => String(v).length)) * 7.5 + 24 : 60);
  const plot = new uPlot(
    {
      width,
      height,
      legend: { show: false },
      scales: {
        x: { time: true },
        y: {
          range: (_u, min, max) => [
            d.min ?? Math.min(min ?? 0, 0),
            d.max ?? (max > (min ?? 0) ? max : (min ?? 0) + 1),
          ],
        },
      },
      series: [{}, ...series],
      axes: [
        { stroke: '#9fa7b3', grid: { stroke: '#2c3235' } },
        {
          stroke: '#9fa7b3',
          grid: { stroke: '#2c3235' },
          size: ySize,
          // decimals: 0 means whole numbers: no ticks between them (Grafana limits its ticks the same way).
          ...(d.decimals === 0 ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] } : {}),
          values: (_u, ticks) => ticks.map(tickText),
        },
      ],
      hooks: {
        draw: [
          (u) => {
            // Thresholds as dashed lines at each step (Grafana's "as lines" thresholds style).
            const { ctx: c, bbox } = u;
            c.save();
            for (const s of steps) {
              const y = u.valToPos(s.value, 'y', true);
              if (y < bbox.top || y > bbox.top + bbox.height) continue;
              c.strokeStyle = resolveColor(s.color);
              c.setLineDash([6, 6]);
              c.beginPath();
              c.moveTo(bbox.left, y);
              c.lineTo(bbox.left + bbox.width, y);
              c.stroke();
            }
            c.restore();
          },
        ],
      },
    },
    [frame.times, ...frame.series.map((s) => s.values)],
    box,
  );
  return () => plot.destroy();
}

function buildLegend(panel, frame, series, fmt) {
  const calcs = panel.options?.legend?.calcs ?? [];
  const legend = div('legend');
  if (panel.options?.legend?.showLegend === false) return legend;
  frame.series.forEach((s, i) => {
    const item = div('legend-item');
    const swatch = div('swatch');
    swatch.style.background = series[i].stroke;
    item.append(swatch, div('legend-name', s.name));
    for (const c of calcs)
      item.append(div('legend-calc', `${REDUCER_LABELS[c] ?? c}: ${fmt(reduce(s.values, c)) || '–'}`));
    legend.append(item);
  });
  return legend;
}

function drawStat(p, results, ctx) {
  const values = reducedValues(p.panel, results, ctx);
  if (values.length === 0) return message(p.body, 'No data');
  const wrap = div('stat-grid');
  const background = (p.panel.options?.colorMode ?? 'value') === 'background';
  const withName =
    (p.panel.options?.textMode ?? 'auto') !== 'value' &&
    (values.length > 1 || p.panel.options?.textMode === 'value_and_name');
  for (const v of values) {
    const { text, color } = display(p.panel, v.value);
    const cell = div('stat');
    if (background) cell.style.background = color;
    else cell.style.color = color;
    if (withName) cell.append(div('stat-name', v.name));
    cell.append(div('stat-value', text));
    wrap.append(cell);
  }
  p.body.replaceChildren(wrap);
}

function drawGauge(p, results, ctx) {
  const values = reducedValues(p.panel, results, ctx);
  if (values.length === 0) return message(p.body, 'No data');
  const d = p.panel.fieldConfig?.defaults ?? {};
  const min = d.min ?? 0;
  const max = d.max ?? 100;
  const wrap = div('stat-grid');
  for (const v of values) {
    const { text, color } = display(p.panel, v.value);
    const frac = v.value === null ? 0 : Math.min(1, Math.max(0, (v.value - min) / (max - min)));
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 100;
    const c = canvas.getContext('2d');
    c.lineWidth = 14;
    c.strokeStyle = '#2c3235';
    c.beginPath();
    c.arc(80, 85, 60, Math.PI, 2 * Math.PI);
    c.stroke();
    c.strokeStyle = color;
    c.beginPath();
    c.arc(80, 85, 60, Math.PI, Math.PI + Math.PI * frac);
    c.stroke();
    const cell = div('gauge');
    cell.append(canvas, div('stat-value', text), div('stat-name', v.name));
    wrap.append(cell);
  }
  p.body.replaceChildren(wrap);
}

function drawBarGauge(p, results, ctx) {
  const values = reducedValues(p.panel, results, ctx);
  if (values.length === 0) return message(p.body, 'No data');
  const d = p.panel.fieldConfig?.defaults ?? {};
  const min = d.min ?? 0;
  const max = d.max ?? Math.max(...values.map((v) => v.value ?? 0), min + 1);
  const wrap = div('bargauge');
  for (const v of values) {
    const { text, color } = display(p.panel, v.value);
    const row = div('bar-row');
    const track = div('bar-track');
    const fill = div('bar-fill');
    fill.style.width = `${v.value === null ? 0 : Math.min(100, Math.max(0, ((v.value - min) / (max - min)) * 100))}%`;
    fill.style.background = color;
    track.append(fill);
    row.append(div('bar-name', v.name), track, div('bar-value', text));
    wrap.append(row);
  }
  p.body.replaceChildren(wrap);
}

function drawStateTimeline(p, results, ctx) {
  const frame = alignMatrix(rangeSeries(results), ctx.grid);
  if (frame.series.length === 0) return message(p.body, 'No data');
  const d = p.panel.fieldConfig?.defaults ?? {};
  const labelW = Math.min(220, Math.max(...frame.series.map((s) => s.name.length)) * 7 + 10);
  const width = Math.max(200, p.body.clientWidth - 8);
  const height = Math.max(40, p.heightPx - 24);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const c = canvas.getContext('2d');
  const rowH = height / frame.series.length;
  const t0 = frame.times[0];
  const t1 = frame.times[frame.times.length - 1] + ctx.step;
  const xOf = (t) => labelW + ((t - t0) / (t1 - t0)) * (width - labelW);
  c.font = '12px system-ui, sans-serif';
  c.textBaseline = 'middle';
  frame.series.forEach((s, i) => {
    const y = i * rowH;
    c.fillStyle = '#ccccdc';
    c.fillText(s.name, 4, y + rowH / 2, labelW - 8);
    for (const run of stateRuns(frame.times, s.values, ctx.step)) {
      const { text, color } = display(p.panel, run.value);
      const x0 = xOf(run.from);
      const x1 = xOf(run.to);
      c.fillStyle = color;
      c.fillRect(x0, y + rowH * 0.1, Math.max(1, x1 - x0 - 1), rowH * 0.8);
      if (x1 - x0 > c.measureText(text).width + 8) {
        c.fillStyle = '#111217';
        c.fillText(text, x0 + 4, y + rowH / 2);
      }
    }
  });
  const legend = div('legend');
  for (const m of Object.values(d.mappings?.[0]?.options ?? {})) {
    const item = div('legend-item');
    const sw = div('swatch');
    sw.style.background = resolveColor(m.color);
    item.append(sw, div('legend-name', m.text));
    legend.append(item);
  }
  p.body.replaceChildren(canvas, legend);
}

const DRAW = {
  timeseries: drawTimeseries,
  stat: drawStat,
  gauge: drawGauge,
  bargauge: drawBarGauge,
  'state-timeline': drawStateTimeline,
};

/** Draws the panel; returns what undoes it (uPlot instances hold listeners). */
export function drawPanel(p, results, ctx, previousCleanup) {
  previousCleanup?.();
  p.body.classList.remove('panel-message');
  if (!isSupportedPanelType(p.panel.type)) {
    message(
      p.body,
      `The console cannot draw panels of type "${p.panel.type}"; open this dashboard in Grafana.`,
    );
    return null;
  }
  return DRAW[p.panel.type](p, results, ctx) ?? null;
}
