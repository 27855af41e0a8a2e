/* global document, window, EventSource */
// The chaos page's live part: order rate and latency over the last 15 minutes from Prometheus, with a
// marker at every kill the runtime reports, so a running `make chaos` can be watched as it happens.
import uPlot from '/vendor/uPlot.esm.js';
import { prom } from './http.js';
import { alignMatrix } from '/shared/frames.ts';
import {
  alignRange,
  formatPromDuration,
  intervalMs,
  parseDurationMs,
  rateIntervalMs,
  stepSeconds,
} from '/shared/interval.ts';
import { formatValue } from '/shared/units.ts';

const WINDOW_MS = 15 * 60_000;
const MARKER_TYPES = { killed: '#F2495C', signalled: '#EAB839', ready: '#73BF69' };

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

export function showChaosLive(root, settings) {
  const section = el('section', 'chaos-live');
  const kills = el('ol', 'events chaos-kills');
  const charts = el('div', 'chaos-live-charts');
  section.append(
    el('h2', '', 'Now: orders and kills of the last 15 minutes'),
    charts,
    el('h3', '', 'Kills'),
    kills,
  );
  root.append(section);
  const markers = [];
  let plots = [];

  const source = new EventSource('/api/runtime/events?after=0');
  source.onmessage = (message) => {
    const e = JSON.parse(message.data);
    if (!MARKER_TYPES[e.type] || (e.type === 'ready' && !markers.some((m) => m.type !== 'ready'))) return;
    markers.push({ at: Date.parse(e.at), type: e.type, replica: e.replica });
    if (e.type !== 'ready') {
      const li = el(
        'li',
        `event ${e.type}`,
        `${new Date(e.at).toLocaleTimeString()} ${e.type} ${e.replica ?? e.service} ${e.reason ?? ''}`,
      );
      kills.prepend(li);
    }
  };

  async function draw() {
    if (!settings.prometheus.available) {
      charts.replaceChildren(
        el('p', 'panel-message', `Order rate and latency need Prometheus. ${settings.prometheus.install}`),
      );
      return;
    }
    const toMs = Date.now();
    const fromMs = toMs - WINDOW_MS;
    const width = Math.max(300, Math.floor((charts.clientWidth || 900) / 2) - 20);
    const scrapeMs = parseDurationMs(settings.prometheus.scrapeInterval);
    const step = stepSeconds(WINDOW_MS, intervalMs(WINDOW_MS, width, scrapeMs));
    const rate = formatPromDuration(rateIntervalMs(step * 1000, scrapeMs));
    const grid = { ...alignRange(fromMs, toMs, step), step };
    const range = (query) => prom('query_range', { query, start: grid.start, end: grid.end, step });
    const latency = (q) =>
      `histogram_quantile(${q}, sum by (le) (rate(http_server_request_duration_seconds_bucket{service="order",route="/orders"}[${rate}])))`;
    try {
      const [orders, p50, p99] = await Promise.all([
        range(`sum by (outcome) (rate(orders_total[${rate}]))`),
        range(latency(0.5)),
        range(latency(0.99)),
      ]);
      for (const p of plots) p.destroy();
      charts.replaceChildren();
      plots = [
        chart(
          charts,
          'Orders per second',
          alignMatrix([{ series: orders.result, legendFormat: '{{outcome}}' }], grid),
          'ops',
          width,
        ),
        chart(
          charts,
          'Order latency (POST /orders)',
          alignMatrix(
            [
              { series: p50.result, legendFormat: 'p50' },
              { series: p99.result, legendFormat: 'p99' },
            ],
            grid,
          ),
          's',
          width,
        ),
      ];
    } catch (error) {
      charts.replaceChildren(el('p', 'panel-message', `Query failed: ${error.message}`));
    }
  }

  function chart(parent, title, frame, unit, width) {
    const box = el('div', 'panel chaos-chart');
    box.append(el('h3', '', title));
    parent.append(box);
    const colors = {
      confirmed: '#73BF69',
      failed: '#F2495C',
      rejected: '#FF9830',
      cancelled: '#B877D9',
      p50: '#5794F2',
      p99: '#F2495C',
    };
    return new uPlot(
      {
        width,
        height: 220,
        scales: { x: { time: true } },
        series: [
          {},
          ...frame.series.map((s) => ({
            label: s.name,
            stroke: colors[s.name] ?? '#6ED0E0',
            width: 2,
            value: (_u, v) => (v === null ? '' : formatValue(v, unit)),
          })),
        ],
        axes: [
          { stroke: '#9fa7b3', grid: { stroke: '#2c3235' } },
          {
            stroke: '#9fa7b3',
            grid: { stroke: '#2c3235' },
            size: 80,
            values: (_u, t) => t.map((v) => formatValue(v, unit)),
          },
        ],
        hooks: {
          draw: [
            (u) => {
              const { ctx, bbox } = u;
              ctx.save();
              for (const m of markers) {
                const x = Math.round(u.valToPos(m.at / 1000, 'x', true));
                if (x < bbox.left || x > bbox.left + bbox.width) continue;
                ctx.strokeStyle = MARKER_TYPES[m.type];
                ctx.setLineDash(m.type === 'killed' ? [] : [4, 4]);
                ctx.beginPath();
                ctx.moveTo(x, bbox.top);
                ctx.lineTo(x, bbox.top + bbox.height);
                ctx.stroke();
              }
              ctx.restore();
            },
          ],
        },
      },
      [frame.times, ...frame.series.map((s) => s.values)],
      box,
    );
  }

  void draw();
  const timer = window.setInterval(draw, 5000);
  return () => {
    source.close();
    window.clearInterval(timer);
    for (const p of plots) p.destroy();
  };
}
