/* global document, window */
// Draws a chaos report view (built by src/report-model.ts) with uPlot. A classic script, not a module:
// report.html inlines it next to uPlot's IIFE build so the file opens offline, and the console loads it
// the same way. Expects the global uPlot and calls window.renderChaosReport(view, root).
(function () {
  'use strict';
  const COLORS = {
    ok: '#73BF69',
    bad: '#F2495C',
    warn: '#FF9830',
    p50: '#5794F2',
    p95: '#FF9830',
    p99: '#F2495C',
  };
  const MARKER_COLORS = {
    kill: '#F2495C',
    gone: '#B877D9',
    replacement: '#5794F2',
    ready: '#73BF69',
    'full-strength': '#73BF69',
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'style') node.style.cssText = v;
      else node.setAttribute(k, v);
    }
    for (const c of children)
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const Node = window.Node;

  function ms(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    return v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`;
  }
  function pct(v) {
    return v === null || v === undefined ? '–' : `${(v * 100).toFixed(2)} %`;
  }
  function quantile(values, q) {
    if (values.length === 0) return null;
    const s = [...values].sort((a, b) => a - b);
    const pos = (s.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  }

  function shading(view) {
    return (u) => {
      const { ctx, bbox } = u;
      ctx.save();
      for (const w of view.windows) {
        const x0 = u.valToPos(w.from / 1000, 'x', true);
        const x1 = u.valToPos(w.to / 1000, 'x', true);
        ctx.fillStyle = w.recovered ? 'rgba(255, 152, 48, 0.18)' : 'rgba(242, 73, 92, 0.22)';
        ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
      }
      ctx.restore();
    };
  }
  function markerLines(view) {
    return (u) => {
      const { ctx, bbox } = u;
      ctx.save();
      for (const m of view.markers) {
        if (m.kind !== 'kill' && m.kind !== 'ready' && m.kind !== 'full-strength') continue;
        const x = Math.round(u.valToPos(m.at / 1000, 'x', true));
        ctx.strokeStyle = MARKER_COLORS[m.kind];
        ctx.lineWidth = m.kind === 'kill' ? 2 : 1;
        ctx.setLineDash(m.kind === 'kill' ? [] : [4, 4]);
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    };
  }

  function chart(view, root, title, series, data, unitFmt) {
    const box = el('div', { class: 'chart', 'data-chart': title });
    root.append(el('h3', {}, title), box);
    const width = Math.max(320, Math.min(1100, (root.clientWidth || 1000) - 20));
    const xs = data[0];
    const lo = Math.min(xs[0] ?? Infinity, ...view.windows.map((w) => w.from / 1000));
    const hi = Math.max(xs[xs.length - 1] ?? -Infinity, ...view.windows.map((w) => w.to / 1000));
    // eslint-disable-next-line no-undef
    return new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: true, range: () => [lo, hi] } },
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash,
            value: (_u, v) => unitFmt(v),
          })),
        ],
        axes: [
          { stroke: '#9fa7b3', grid: { stroke: '#2c3235' } },
          {
            stroke: '#9fa7b3',
            grid: { stroke: '#2c3235' },
            values: (_u, ticks) => ticks.map(unitFmt),
            size: 70,
          },
        ],
        hooks: { drawClear: [shading(view)], draw: [markerLines(view)] },
      },
      data,
      box,
    );
  }

  function summary(view) {
    const p50 = quantile(view.mttrValuesMs, 0.5);
    const max = view.mttrValuesMs.length ? Math.max(...view.mttrValuesMs) : null;
    const tile = (label, value, cls) =>
      el(
        'div',
        { class: `tile ${cls || ''}` },
        el('div', { class: 'tile-value' }, value),
        el('div', { class: 'tile-label' }, label),
      );
    return el(
      'div',
      { class: 'tiles' },
      tile('verdict', view.verdict.passed ? 'PASS' : 'FAIL', view.verdict.passed ? 'ok' : 'bad'),
      tile('replicas killed', String(view.kills)),
      tile('MTTR p50', ms(p50)),
      tile('MTTR max', ms(max)),
      tile('order success ratio', pct(view.successRatio), view.verdict.passed ? '' : 'warn'),
      tile('orders sent / failed', `${view.sent} / ${view.failed}`),
    );
  }

  function objectives(view) {
    const rows = view.verdict.objectives.map((o) =>
      el(
        'tr',
        // An objective the run could not check (e.g. no Alertmanager) is neither passed nor failed.
        { class: o.notChecked ? 'warn' : o.passed ? 'ok' : 'bad' },
        el('td', {}, o.notChecked ? 'not checked' : o.passed ? '✔' : '✘'),
        el('td', {}, o.name),
        el('td', {}, o.expected),
        el('td', {}, o.actual),
        el('td', {}, o.reason || ''),
      ),
    );
    return el(
      'table',
      { class: 'objectives' },
      el(
        'thead',
        {},
        el('tr', {}, ...['', 'objective', 'expected', 'actual', 'why'].map((h) => el('th', {}, h))),
      ),
      el('tbody', {}, ...rows),
    );
  }

  function rounds(view) {
    const max = Math.max(1, ...view.rounds.map((r) => r.mttrMs || 0));
    const rows = view.rounds.map((r) =>
      el(
        'tr',
        { class: r.outcome === 'recovered' || r.outcome === 'done' ? 'ok' : 'bad' },
        el('td', {}, String(r.round)),
        el('td', {}, `${r.action} ${r.workload}`),
        el('td', {}, r.victims),
        el('td', {}, r.outcome + (r.reason ? `: ${r.reason}` : '')),
        el(
          'td',
          { class: 'bar-cell' },
          el('span', { class: 'bar', style: `width:${((r.mttrMs || 0) / max) * 100}%` }),
          el('span', { class: 'bar-text' }, ms(r.mttrMs)),
        ),
      ),
    );
    return el(
      'table',
      { class: 'rounds' },
      el(
        'thead',
        {},
        el('tr', {}, ...['round', 'action', 'killed', 'outcome', 'MTTR'].map((h) => el('th', {}, h))),
      ),
      el('tbody', {}, ...rows),
    );
  }

  function timeline(view) {
    const start = Date.parse(view.startedAt);
    const items = view.markers.map((m) =>
      el(
        'li',
        { class: `marker ${m.kind}` },
        el('span', { class: 'at' }, `+${((m.at - start) / 1000).toFixed(1)} s`),
        el('span', { class: 'dot', style: `background:${MARKER_COLORS[m.kind]}` }),
        m.label,
      ),
    );
    return el('ol', { class: 'timeline' }, ...items);
  }

  // Served by the console (in its Chaos page's frame): the trace view of the same console, in the top
  // window. Opened from disk or a CI artifact: the absolute link the report carries.
  function traceLink(row) {
    const local = isLocalLink(row) && /^https?:$/.test(window.location.protocol);
    return el(
      'a',
      local
        ? { href: `/#/traces/${row.traceId}`, target: '_top', class: 'trace-link' }
        : { href: row.traceUrl, target: '_blank', rel: 'noopener', class: 'trace-link' },
      row.traceId,
    );
  }
  function isLocalLink(row) {
    return row.traceUrl.includes('/#/traces/');
  }

  function failedOrders(view) {
    const total = view.failedOrders.length + view.failedOrdersOmitted;
    const box = el('section', { id: 'failed-orders' });
    box.append(el('h2', {}, `Failed orders (${total})`));
    if (view.failedOrdersOmitted > 0)
      box.append(
        el(
          'p',
          { class: 'meta' },
          `The first ${view.failedOrders.length} are listed; ${view.failedOrdersOmitted} more were not kept.`,
        ),
      );
    box.append(
      el(
        'table',
        { class: 'failed-orders' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['sent at', 'segment', 'error', 'Idempotency-Key', 'trace'].map((h) => el('th', {}, h)),
          ),
        ),
        el(
          'tbody',
          {},
          ...view.failedOrders.map((row) =>
            el(
              'tr',
              { 'data-trace-id': row.traceId },
              el('td', {}, row.at),
              el('td', {}, row.segment),
              el('td', { class: 'bad' }, row.kind),
              el('td', {}, row.idempotencyKey),
              el('td', {}, traceLink(row)),
            ),
          ),
        ),
      ),
    );
    return box;
  }

  window.renderChaosReport = function renderChaosReport(view, root) {
    root.replaceChildren();
    root.append(
      el('h1', {}, `Chaos report: ${view.experiment}`),
      el(
        'p',
        { class: 'meta' },
        `${view.description} — target ${view.target}; ${view.startedAt} → ${view.endedAt}; status ${view.status}`,
      ),
      el(
        'div',
        { class: `verdict ${view.verdict.passed ? 'ok' : 'bad'}`, id: 'verdict' },
        view.verdict.passed ? 'Verdict: PASS' : 'Verdict: FAIL',
      ),
    );
    if (view.abortReason) root.append(el('p', { class: 'bad' }, `Aborted: ${view.abortReason}`));
    if (view.verdict.reasons.length)
      root.append(el('ul', { class: 'reasons' }, ...view.verdict.reasons.map((r) => el('li', {}, r))));
    root.append(summary(view), el('h2', {}, 'Objectives'), objectives(view));
    if (view.invariants)
      root.append(
        el('p', { class: view.violations.length ? 'bad' : 'meta', id: 'invariants' }, view.invariants),
      );
    if (view.violations.length) {
      root.append(
        el('h2', {}, `Invariant violations (${view.violations.length})`),
        el(
          'table',
          { class: 'violations' },
          el(
            'tbody',
            {},
            ...view.violations.map((v) =>
              el(
                'tr',
                { class: 'bad' },
                el('td', {}, v.kind),
                el('td', {}, v.subject),
                el('td', {}, v.detail),
              ),
            ),
          ),
        ),
      );
    }
    root.append(el('h2', {}, 'Rounds and MTTR'), rounds(view));
    if (view.failedOrders.length + view.failedOrdersOmitted > 0) root.append(failedOrders(view));
    const charts = el('div', { class: 'charts' });
    root.append(
      el('h2', {}, 'Load during the run'),
      el(
        'p',
        { class: 'legend-note' },
        'Shaded: from the kill to full strength again (red when it never got there). Solid red lines: kills; dashed green: replacement ready / full strength.' +
          (view.load.source === 'segments'
            ? ' The report has segment totals only, so each load segment is one step.'
            : ''),
      ),
      charts,
    );
    if (view.load.source === 'none') charts.append(el('p', {}, 'No load figures in this report.'));
    else {
      const L = view.load;
      chart(
        view,
        charts,
        'Orders per second',
        [
          { label: 'succeeded', color: COLORS.ok },
          { label: 'failed', color: COLORS.bad },
        ],
        [L.times, L.ordersPerSecond, L.failedPerSecond],
        (v) => (v === null ? '–' : `${v.toFixed(1)}/s`),
      );
      chart(
        view,
        charts,
        'Order latency',
        [
          { label: 'p50', color: COLORS.p50 },
          { label: 'p95', color: COLORS.p95 },
          { label: 'p99', color: COLORS.p99, dash: [6, 4] },
        ],
        [L.times, L.p50Ms, L.p95Ms, L.p99Ms],
        ms,
      );
    }
    root.append(el('h2', {}, 'Timeline of kills and recoveries'), timeline(view));
  };
})();
