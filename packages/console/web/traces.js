/* global window, URLSearchParams */
// The Traces page: search by order id, Idempotency-Key or trace id, the recent traces (errors marked),
// and one trace as a waterfall: spans nested by parent, bars on the trace's time axis coloured by
// service, span events as marks on their span, links to linked traces (an outbox confirmation to its
// order). Data: the runtime's trace API through /api/runtime/traces (contracts TraceSummary/TraceView).
import { getJson, HttpProblem } from './http.js';
import { h } from './dom.js';

const SERVICE_COLORS = { order: '#5794F2', inventory: '#73BF69', notification: '#B877D9' };
const EXTRA_COLORS = ['#FF9830', '#6ED0E0', '#FADE2A', '#E0B400', '#8AB8FF'];
const TRACE_ID = /^[0-9a-fA-F]{32}$/;
const LIST_LIMIT = 50;

export function serviceColor(service) {
  if (SERVICE_COLORS[service]) return SERVICE_COLORS[service];
  let hash = 0;
  for (const c of service) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return EXTRA_COLORS[hash % EXTRA_COLORS.length];
}

function ms(v) {
  return v < 1
    ? `${(v * 1000).toFixed(0)} µs`
    : v < 1000
      ? `${v.toFixed(v < 10 ? 2 : 1)} ms`
      : `${(v / 1000).toFixed(2)} s`;
}

function time(iso) {
  return iso.replace('T', ' ').replace('Z', '');
}

/** Spans in tree order (depth first, children by start); a span whose parent is missing is a root. */
export function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    if (span.parentSpanId && ids.has(span.parentSpanId)) {
      if (!children.has(span.parentSpanId)) children.set(span.parentSpanId, []);
      children.get(span.parentSpanId).push(span);
    } else roots.push(span);
  }
  const out = [];
  const visit = (span, depth) => {
    out.push({ span, depth });
    for (const child of (children.get(span.spanId) ?? []).sort((a, b) => a.offsetMs - b.offsetMs))
      visit(child, depth + 1);
  };
  for (const root of roots.sort((a, b) => a.offsetMs - b.offsetMs)) visit(root, 0);
  return out;
}

function attributeTable(attributes) {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return null;
  return h(
    'table',
    { class: 'span-attributes' },
    h(
      'tbody',
      {},
      ...entries.map(([k, v]) =>
        h('tr', {}, h('th', {}, k), h('td', {}, typeof v === 'string' ? v : JSON.stringify(v))),
      ),
    ),
  );
}

function spanDetails(span) {
  return h(
    'div',
    { class: 'span-details' },
    h(
      'p',
      {},
      `${span.kind} · ${span.service} · starts at +${ms(span.offsetMs)} · ${ms(span.durationMs)} · status ${span.status.code}${span.status.message ? `: ${span.status.message}` : ''}`,
    ),
    attributeTable(span.attributes),
    ...span.events.map((e) =>
      h(
        'div',
        { class: 'span-event' },
        h('strong', {}, `${e.name} at +${ms(e.offsetMs)}`),
        attributeTable(e.attributes),
      ),
    ),
    attributeTable(span.resource),
  );
}

/** One row: the span's name indented by depth, then its bar on the trace's time axis. */
function waterfallRow(span, depth, total) {
  const left = total > 0 ? (span.offsetMs / total) * 100 : 0;
  const width = total > 0 ? (span.durationMs / total) * 100 : 100;
  const color = serviceColor(span.service);
  const error = span.status.code === 'ERROR';
  const bar = h('div', {
    class: `span-bar${error ? ' error' : ''}`,
    style: `left:${left}%;width:max(2px, ${width}%);background:${color}`,
    title: `${span.name}: ${ms(span.durationMs)}`,
  });
  const marks = span.events.map((e) =>
    h('div', {
      class: 'span-event-mark',
      style: `left:${total > 0 ? (e.offsetMs / total) * 100 : 0}%`,
      title: `${e.name} at +${ms(e.offsetMs)}`,
      'data-event': e.name,
    }),
  );
  const links = span.links.map((l) =>
    h(
      'a',
      { class: 'span-link', href: `#/traces/${l.traceId}`, title: `linked span ${l.spanId}` },
      `↪ linked trace ${l.traceId.slice(0, 8)}…`,
    ),
  );
  const label = h(
    'div',
    { class: 'span-label', style: `padding-left:${depth * 16 + 4}px` },
    h('span', { class: 'service-dot', style: `background:${color}` }),
    h('span', { class: 'span-service' }, span.service),
    ' ',
    h('span', { class: 'span-name' }, span.name),
    error ? h('span', { class: 'error-mark', title: span.status.message ?? 'error' }, ' ⚠') : null,
    ...links,
  );
  const row = h(
    'div',
    {
      class: `waterfall-row${error ? ' error' : ''}`,
      'data-span-id': span.spanId,
      'data-parent-span-id': span.parentSpanId ?? '',
      'data-depth': String(depth),
      'data-service': span.service,
    },
    label,
    h(
      'div',
      { class: 'span-track' },
      bar,
      ...marks,
      h('span', { class: 'span-duration' }, ms(span.durationMs)),
    ),
  );
  let details = null;
  row.addEventListener('click', (event) => {
    if (event.target instanceof window.HTMLAnchorElement) return;
    if (details) {
      details.remove();
      details = null;
    } else {
      details = spanDetails(span);
      row.after(details);
    }
  });
  return row;
}

function waterfall(trace) {
  const services = trace.services.map((s) =>
    h(
      'span',
      { class: 'legend-item' },
      h('span', { class: 'service-dot', style: `background:${serviceColor(s)}` }),
      s,
    ),
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    h('span', { class: 'tick', style: `left:${f * 100}%` }, ms(trace.durationMs * f)),
  );
  return h(
    'section',
    { class: 'trace-view', 'data-trace-id': trace.traceId },
    h('h2', {}, `${trace.service}: ${trace.name}`),
    h(
      'p',
      { class: 'meta' },
      `trace ${trace.traceId} · ${time(trace.startedAt)} · ${ms(trace.durationMs)} · ${trace.spanCount} spans · `,
      trace.errorCount > 0 ? h('span', { class: 'bad' }, `${trace.errorCount} error(s)`) : 'no error',
      trace.orderIds.length ? ` · order ${trace.orderIds.join(', ')}` : '',
      trace.idempotencyKeys.length ? ` · Idempotency-Key ${trace.idempotencyKeys.join(', ')}` : '',
    ),
    h('div', { class: 'legend' }, ...services),
    h(
      'div',
      { class: 'waterfall' },
      h(
        'div',
        { class: 'waterfall-row axis' },
        h('div', { class: 'span-label' }, 'span'),
        h('div', { class: 'span-track' }, ...ticks),
      ),
      ...treeOrder(trace.spans).map(({ span, depth }) => waterfallRow(span, depth, trace.durationMs)),
    ),
    h('p', { class: 'meta' }, 'Click a span for its attributes, events and resource.'),
  );
}

function traceList(items) {
  if (items.length === 0)
    return h('p', { class: 'meta' }, 'No trace matches (the runtime keeps recent traces only).');
  return h(
    'table',
    { class: 'trace-list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['started', 'trace', 'root span', 'services', 'duration', 'spans', 'errors', 'order'].map((t) =>
          h('th', {}, t),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...items.map((t) =>
        h(
          'tr',
          { class: t.errorCount > 0 ? 'error' : '', 'data-trace-id': t.traceId },
          h('td', {}, time(t.startedAt)),
          h('td', {}, h('a', { href: `#/traces/${t.traceId}` }, t.traceId.slice(0, 16))),
          h('td', {}, `${t.service}: ${t.name}`),
          h('td', {}, t.services.join(', ')),
          h('td', {}, ms(t.durationMs)),
          h('td', {}, t.spanCount),
          h('td', { class: t.errorCount > 0 ? 'bad' : '' }, t.errorCount > 0 ? `⚠ ${t.errorCount}` : '0'),
          h('td', {}, t.orderIds.join(', ')),
        ),
      ),
    ),
  );
}

/** Order id and Idempotency-Key are both searched: a failed order has only its key. */
async function search(text, errorsOnly) {
  const base = { limit: String(LIST_LIMIT), ...(errorsOnly ? { error: 'true' } : {}) };
  const queries = text
    ? [
        { ...base, orderId: text },
        { ...base, idempotencyKey: text },
      ]
    : [base];
  const answers = await Promise.all(
    queries.map((q) => getJson(`/api/runtime/traces?${new URLSearchParams(q)}`)),
  );
  const seen = new Map();
  for (const a of answers) for (const t of a.items) seen.set(t.traceId, t);
  return [...seen.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

function problemText(error) {
  return error instanceof HttpProblem ? error.message : `Could not read the traces: ${error.message}`;
}

/** `#/traces`, `#/traces?q=...&errors=1` or `#/traces/<traceId>`. */
export function showTraces({ main }, route) {
  const id = /^#\/traces\/([0-9a-fA-F]{32})/.exec(route)?.[1];
  const params = new URLSearchParams(route.split('?')[1] ?? '');
  const input = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'order id, Idempotency-Key or trace id',
    value: id ?? params.get('q') ?? '',
    size: '44',
  });
  const errors = h('input', { type: 'checkbox', name: 'errors' });
  errors.checked = params.get('errors') === '1';
  const form = h(
    'form',
    { class: 'trace-search' },
    input,
    h('label', {}, errors, ' errors only'),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (TRACE_ID.test(q)) window.location.hash = `#/traces/${q.toLowerCase()}`;
    else
      window.location.hash = `#/traces?${new URLSearchParams({ q, ...(errors.checked ? { errors: '1' } : {}) })}`;
  });
  const body = h('div', { class: 'traces-body' }, h('p', { class: 'meta' }, 'Loading…'));
  main.append(h('h1', {}, 'Traces'), form, body);
  let stopped = false;
  const show = (node) => {
    if (!stopped) body.replaceChildren(node);
  };
  if (id)
    getJson(`/api/runtime/traces/${id}`).then(
      (trace) => show(waterfall(trace)),
      (error) => show(h('p', { class: 'bad' }, problemText(error))),
    );
  else
    search(params.get('q')?.trim() ?? '', errors.checked).then(
      (items) => show(traceList(items)),
      (error) => show(h('p', { class: 'bad' }, problemText(error))),
    );
  return () => {
    stopped = true;
  };
}
