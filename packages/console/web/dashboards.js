/* global document, window, URLSearchParams */
// Renders a Grafana dashboard file: template variables, time range and refresh pickers, then every
// row and panel on Grafana's 24-column grid, each panel querying the local Prometheus.
import { getJson, prom } from './http.js';
import { drawPanel } from './panels.js';
import {
  intervalMs,
  rateIntervalMs,
  formatPromDuration,
  parseDurationMs,
  stepSeconds,
  alignRange,
} from '/shared/interval.ts';
import { QUICK_RANGES, REFRESH_INTERVALS, resolveRange } from '/shared/time-range.ts';
import { interpolate, parseLabelValuesQuery, ALL } from '/shared/variables.ts';
import { variableQuery } from '/shared/dashboard-model.ts';

const ROW_PX = 30;
const GAP_PX = 6;

function option(value, text, selected) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.selected = selected;
  return o;
}

function select(label, options, onChange) {
  const wrap = document.createElement('label');
  wrap.className = 'picker';
  wrap.append(label + ' ');
  const s = document.createElement('select');
  s.append(...options);
  s.addEventListener('change', () => onChange(s));
  wrap.append(s);
  return wrap;
}

/**
 * A variable's picker as Grafana draws it: the current value(s) in a button, a drop-down list of
 * options (checkboxes for a multi-value variable; All clears the others, another option clears All).
 */
function variablePicker(v, choices, current, onChange) {
  const wrap = document.createElement('details');
  wrap.className = 'picker variable';
  wrap.dataset.variable = v.name;
  const summary = document.createElement('summary');
  const list = document.createElement('div');
  list.className = 'var-options';
  const selected = new Set(current);
  const describe = () => {
    const texts = choices.filter((c) => selected.has(c.value)).map((c) => c.text);
    summary.textContent = `${v.label || v.name}: ${texts.join(' + ') || 'None'}`;
  };
  for (const c of choices) {
    const label = document.createElement('label');
    label.className = 'var-option';
    const input = document.createElement('input');
    input.type = v.multi ? 'checkbox' : 'radio';
    input.name = `var-${v.name}`;
    input.value = c.value;
    input.checked = selected.has(c.value);
    input.addEventListener('change', () => {
      if (!v.multi || c.value === ALL) selected.clear();
      else selected.delete(ALL);
      if (input.checked) selected.add(c.value);
      else selected.delete(c.value);
      for (const other of list.querySelectorAll('input')) other.checked = selected.has(other.value);
      describe();
      onChange([...selected]);
    });
    label.append(input, c.text);
    list.append(label);
  }
  describe();
  wrap.append(summary, list);
  return wrap;
}

export function showDashboard({ main, controls, settings }, uid) {
  const state = {
    dashboard: null,
    range: null,
    refresh: null,
    vars: {},
    timer: null,
    panels: [],
    stopped: false,
  };
  const scrapeMs = parseDurationMs(settings.prometheus.scrapeInterval);

  async function loadVariables() {
    const bar = document.createElement('div');
    bar.className = 'variables';
    const now = Date.now();
    const { fromMs, toMs } = resolveRange(state.range, now);
    for (const v of state.dashboard.templating?.list ?? []) {
      if (v.type === 'datasource') {
        bar.append(select(v.label || v.name, [option('prometheus', 'Prometheus (local)', true)], () => {}));
        continue;
      }
      if (v.type !== 'query') continue;
      const current = Array.isArray(v.current?.value)
        ? v.current.value
        : v.current?.value
          ? [v.current.value]
          : [ALL];
      let optionsList = [];
      let error = null;
      try {
        const q = parseLabelValuesQuery(variableQuery(v));
        const params = { start: Math.floor(fromMs / 1000), end: Math.ceil(toMs / 1000) };
        if (q.metric) params['match[]'] = q.metric;
        optionsList = settings.prometheus.available
          ? await prom(`label/${encodeURIComponent(q.label)}/values`, params)
          : [];
      } catch (e) {
        error = e.message;
      }
      if (v.sort === 1) optionsList.sort();
      state.vars[v.name] = {
        values: current,
        multi: !!v.multi,
        includeAll: !!v.includeAll,
        allValue: v.allValue,
        options: optionsList,
      };
      const choices = [
        ...(v.includeAll ? [{ value: ALL, text: 'All' }] : []),
        ...optionsList.map((o) => ({ value: o, text: o })),
      ];
      const picker = variablePicker(v, choices, current, (chosen) => {
        state.vars[v.name] = { ...state.vars[v.name], values: chosen.length ? chosen : [ALL] };
        refreshPanels();
      });
      if (error) picker.title = error;
      bar.append(picker);
    }
    return bar;
  }

  function queryContext(panel, panelWidthPx) {
    const { fromMs, toMs } = resolveRange(state.range, Date.now());
    const rangeMs = toMs - fromMs;
    // As Grafana's Prometheus data source: $__interval is the query step (the rounded interval over
    // the panel's max data points — its width by default —, at least the panel's min interval or else
    // the scrape interval, raised to stay under 11,000 points), and $__rate_interval follows it.
    const maxDataPoints = panel.maxDataPoints ?? Math.max(1, Math.round(panelWidthPx));
    const minIntervalMs = panel.interval ? parseDurationMs(panel.interval) : scrapeMs;
    const step = stepSeconds(rangeMs, intervalMs(rangeMs, maxDataPoints, minIntervalMs));
    const interval = step * 1000;
    const builtins = {
      __interval: formatPromDuration(interval),
      __interval_ms: String(interval),
      __rate_interval: formatPromDuration(rateIntervalMs(interval, scrapeMs)),
      __range: formatPromDuration(Math.round(rangeMs / 1000) * 1000),
      __range_s: String(Math.round(rangeMs / 1000)),
      __range_ms: String(rangeMs),
    };
    return {
      fromMs,
      toMs,
      step,
      grid: { ...alignRange(fromMs, toMs, step), step },
      expr: (e) => interpolate(e, state.vars, builtins),
    };
  }

  async function runQueries(panel, ctx) {
    const targets = (panel.targets ?? []).filter((t) => !t.hide && t.expr);
    return Promise.all(
      targets.map(async (t) => {
        const query = ctx.expr(t.expr);
        if (t.instant) {
          const data = await prom('query', { query, time: ctx.toMs / 1000 });
          return { target: t, query, instant: true, result: data.result };
        }
        const data = await prom('query_range', {
          query,
          start: ctx.grid.start,
          end: ctx.grid.end,
          step: ctx.step,
        });
        return { target: t, query, instant: false, result: data.result };
      }),
    );
  }

  async function refreshPanel(p) {
    if (state.stopped) return;
    const ctx = queryContext(p.panel, p.body.clientWidth || 400);
    if (!settings.prometheus.available && p.panel.type !== 'row') {
      p.body.classList.add('panel-message');
      p.body.textContent = `No data: Prometheus is not running. ${settings.prometheus.install}`;
      return;
    }
    try {
      const results = await runQueries(p.panel, ctx);
      if (!state.stopped) p.cleanup = drawPanel(p, results, ctx, p.cleanup);
    } catch (error) {
      p.body.classList.add('panel-message');
      p.body.textContent = `Query failed: ${error.message}`;
    }
  }

  /** Keeps the time range and refresh in the URL (as Grafana does) so a reload or a shared link keeps them. */
  function saveToUrl() {
    const params = new URLSearchParams({
      from: state.range.from,
      to: state.range.to,
      refresh: state.refresh ?? '',
    });
    window.history.replaceState(null, '', `#/d/${encodeURIComponent(uid)}?${params}`);
  }

  function refreshPanels() {
    for (const p of state.panels) void refreshPanel(p);
  }

  function schedule() {
    if (state.timer) window.clearInterval(state.timer);
    state.timer = state.refresh ? window.setInterval(refreshPanels, parseDurationMs(state.refresh)) : null;
  }

  function buildGrid() {
    const grid = document.createElement('div');
    grid.className = 'grid';
    const all = [];
    for (const panel of state.dashboard.panels) {
      all.push(panel);
      if (panel.type === 'row' && panel.collapsed) all.push(...(panel.panels ?? []));
    }
    for (const panel of all) {
      const { x, y, w, h } = panel.gridPos;
      const box = document.createElement('section');
      box.className = panel.type === 'row' ? 'row-title' : 'panel';
      box.dataset.panelId = String(panel.id);
      box.dataset.panelType = panel.type;
      box.style.gridColumn = `${x + 1} / span ${w}`;
      box.style.gridRow = `${y + 1} / span ${h}`;
      const title = document.createElement(panel.type === 'row' ? 'h2' : 'h3');
      title.textContent = panel.title ?? '';
      if (panel.description) title.title = panel.description;
      box.append(title);
      grid.append(box);
      if (panel.type === 'row') continue;
      const body = document.createElement('div');
      body.className = 'panel-body';
      box.append(body);
      state.panels.push({ panel, box, body, heightPx: h * ROW_PX + (h - 1) * GAP_PX - 40, cleanup: null });
    }
    grid.style.gridAutoRows = `${ROW_PX}px`;
    return grid;
  }

  async function start() {
    state.dashboard = await getJson(`/api/dashboards/${encodeURIComponent(uid)}`);
    const params = new URLSearchParams(window.location.hash.split('?')[1] ?? '');
    state.range = {
      from: params.get('from') ?? state.dashboard.time?.from ?? 'now-30m',
      to: params.get('to') ?? state.dashboard.time?.to ?? 'now',
    };
    state.refresh = params.has('refresh') ? params.get('refresh') || null : (state.dashboard.refresh ?? null);
    const header = document.createElement('div');
    header.className = 'dash-header';
    const h1 = document.createElement('h1');
    h1.textContent = state.dashboard.title;
    header.append(h1, await loadVariables());
    main.append(header, buildGrid());
    const rangeKey = (r) => `${r.from}|${r.to}`;
    const ranges = QUICK_RANGES.some((q) => rangeKey(q) === rangeKey(state.range))
      ? QUICK_RANGES
      : [...QUICK_RANGES, { ...state.range, display: `${state.range.from} to ${state.range.to}` }];
    controls.append(
      select(
        'Time range',
        ranges.map((q) => option(rangeKey(q), q.display, rangeKey(q) === rangeKey(state.range))),
        (s) => {
          const [from, to] = s.value.split('|');
          state.range = { from, to };
          saveToUrl();
          refreshPanels();
        },
      ),
      select(
        'Refresh',
        [
          option('', 'Off', !state.refresh),
          ...REFRESH_INTERVALS.map((r) => option(r, r, r === state.refresh)),
        ],
        (s) => {
          state.refresh = s.value || null;
          saveToUrl();
          schedule();
        },
      ),
    );
    const now = document.createElement('button');
    now.textContent = '↻';
    now.title = 'Refresh now';
    now.addEventListener('click', refreshPanels);
    controls.append(now);
    refreshPanels();
    schedule();
  }

  start().catch((error) => {
    main.textContent = `Could not show dashboard ${uid}: ${error.message}`;
  });
  return () => {
    state.stopped = true;
    if (state.timer) window.clearInterval(state.timer);
    for (const p of state.panels) p.cleanup?.();
  };
}
