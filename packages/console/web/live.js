/* global window, EventSource */
// The live platform: every workload with its replicas (control API), the runtime's event stream as a
// timeline, circuit states and degradation per service (Prometheus, when it runs), and the alerts
// firing in Alertmanager (when it runs).
import { getJson, prom } from './http.js';
import { h } from './dom.js';

const EVENT_COLORS = {
  killed: '#F2495C',
  exited: '#B877D9',
  replaced: '#FF9830',
  started: '#5794F2',
  ready: '#73BF69',
  unready: '#FADE2A',
  scaled: '#6ED0E0',
  signalled: '#EAB839',
  backoff: '#E24D42',
};
const CIRCUIT_COLORS = { closed: '#73BF69', half_open: '#FADE2A', open: '#F2495C', isolated: '#B877D9' };
const DEGRADATION = ['normal', 'degraded', 'minimal', 'emergency'];
const MAX_EVENTS = 300;
const SEVERITY_COLORS = { critical: '#F2495C', warning: '#FF9830', info: '#5794F2' };

export function age(fromIso, nowMs) {
  if (!fromIso) return '–';
  const s = Math.max(0, Math.round((nowMs - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

async function workloads() {
  return (await getJson('/api/runtime/workloads')).items;
}

export function showLive({ main, settings }) {
  const status = h('p', { class: 'live-status' });
  const table = h('div', { class: 'workloads' });
  const resilience = h('div', { class: 'resilience' });
  const events = h('ol', { class: 'events' });
  const alerts = h('div', { class: 'alerts' });
  main.append(
    h('h1', {}, 'Live platform'),
    status,
    h(
      'div',
      { class: 'live-grid' },
      h(
        'section',
        {},
        h('h2', {}, 'Workloads and replicas'),
        table,
        h('h2', {}, 'Alerts'),
        alerts,
        h('h2', {}, 'Circuits and degradation'),
        resilience,
      ),
      h('section', {}, h('h2', {}, 'Events'), events),
    ),
  );
  let stopped = false;
  let pending = null;

  async function refreshReplicas() {
    try {
      const [ws, rs] = await Promise.all([workloads(), getJson('/api/runtime/replicas')]);
      const now = Date.now();
      const rows = [];
      for (const w of ws) {
        const ready = w.readyReplicas ?? rs.items.filter((r) => r.service === w.name && r.ready).length;
        rows.push(
          h(
            'tr',
            { class: 'workload' },
            h('td', { colspan: '2' }, h('b', {}, w.name), ` ${w.kind ?? ''}`),
            h(
              'td',
              { colspan: '3', class: ready >= w.replicas ? 'ok' : 'bad' },
              `${ready}/${w.replicas} ready`,
            ),
          ),
        );
        for (const r of rs.items.filter((x) => x.service === w.name)) {
          rows.push(
            h(
              'tr',
              { class: 'replica', 'data-replica': r.name },
              h('td', {}, r.name),
              h('td', { class: `phase ${r.phase}` }, r.phase),
              h('td', { class: r.ready ? 'ok' : 'bad' }, r.ready ? 'ready' : 'not ready'),
              h('td', {}, `${r.restarts} restarts`),
              h('td', {}, age(r.startedAt, now)),
            ),
          );
        }
      }
      table.replaceChildren(
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h('tr', {}, ...['replica', 'phase', 'ready', 'restarts', 'age'].map((x) => h('th', {}, x))),
          ),
          h('tbody', {}, ...rows),
        ),
      );
      status.textContent = `control API: ${settings.controlUrl} — updated ${new Date(now).toLocaleTimeString()}`;
      status.className = 'live-status ok';
    } catch (error) {
      status.textContent = `The runtime is not answering: ${error.message}`;
      status.className = 'live-status bad';
    }
  }

  async function refreshResilience() {
    if (!settings.prometheus.available) {
      resilience.replaceChildren(
        h(
          'p',
          { class: 'panel-message' },
          `Circuit states and degradation come from Prometheus, which is not running. ${settings.prometheus.install}`,
        ),
      );
      return;
    }
    try {
      const [circuits, degradation] = await Promise.all([
        prom('query', { query: 'max by (service, dependency, state) (resilience_circuit_state) == 1' }),
        prom('query', { query: 'max by (service) (degradation_level)' }),
      ]);
      const circuitRows = circuits.result.map((s) =>
        h(
          'tr',
          {},
          h('td', {}, `${s.metric.service ?? '?'} → ${s.metric.dependency}`),
          h(
            'td',
            {},
            h(
              'span',
              { class: 'pill', style: `background:${CIRCUIT_COLORS[s.metric.state] ?? '#888'}` },
              s.metric.state,
            ),
          ),
        ),
      );
      const degradationRows = degradation.result.map((s) => {
        const level = Number(s.value[1]);
        return h(
          'tr',
          {},
          h('td', {}, s.metric.service),
          h('td', {}, h('span', { class: `pill level-${level}` }, DEGRADATION[level] ?? String(level))),
        );
      });
      resilience.replaceChildren(
        h(
          'table',
          { class: 'circuits' },
          h('thead', {}, h('tr', {}, h('th', {}, 'circuit'), h('th', {}, 'state'))),
          h(
            'tbody',
            {},
            ...(circuitRows.length
              ? circuitRows
              : [h('tr', {}, h('td', { colspan: '2' }, 'no circuit metrics yet'))]),
          ),
        ),
        h(
          'table',
          { class: 'degradation' },
          h('thead', {}, h('tr', {}, h('th', {}, 'service'), h('th', {}, 'degradation'))),
          h(
            'tbody',
            {},
            ...(degradationRows.length
              ? degradationRows
              : [h('tr', {}, h('td', { colspan: '2' }, 'no degradation metrics yet'))]),
          ),
        ),
      );
    } catch (error) {
      resilience.replaceChildren(
        h('p', { class: 'panel-message' }, `Prometheus query failed: ${error.message}`),
      );
    }
  }

  async function refreshAlerts() {
    if (!settings.alertmanager?.available) {
      alerts.replaceChildren(
        h(
          'p',
          { class: 'panel-message' },
          `Firing alerts come from Alertmanager, which is not running. ${settings.alertmanager?.install ?? ''}`,
        ),
      );
      return;
    }
    try {
      const list = await getJson('/api/alertmanager/api/v2/alerts?active=true&silenced=true&inhibited=true');
      const now = Date.now();
      const rows = list.map((a) =>
        h(
          'tr',
          { class: 'alert', 'data-alertname': a.labels.alertname, 'data-state': a.status.state },
          h(
            'td',
            {},
            h(
              'span',
              { class: 'pill', style: `background:${SEVERITY_COLORS[a.labels.severity] ?? '#888'}` },
              a.labels.severity ?? 'none',
            ),
          ),
          h('td', {}, h('b', {}, a.labels.alertname)),
          h('td', {}, a.labels.service ?? a.labels.deployment ?? a.labels.pod ?? ''),
          h('td', {}, a.annotations.summary ?? ''),
          h('td', {}, `${a.status.state}, ${age(a.startsAt, now)}`),
        ),
      );
      alerts.replaceChildren(
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['severity', 'alert', 'where', 'summary', 'state, for'].map((x) => h('th', {}, x)),
            ),
          ),
          h(
            'tbody',
            {},
            ...(rows.length
              ? rows
              : [h('tr', {}, h('td', { colspan: '5', class: 'ok' }, 'no alert firing'))]),
          ),
        ),
      );
    } catch (error) {
      alerts.replaceChildren(
        h('p', { class: 'panel-message' }, `Alertmanager query failed: ${error.message}`),
      );
    }
  }

  // The last MAX_EVENTS events first: what happened just before the page opened, and nothing that
  // happened while the stream connected (a kill right after the table showed) is missed.
  const source = new EventSource(`/api/runtime/events?last=${MAX_EVENTS}`);
  source.onmessage = (message) => {
    let e;
    try {
      e = JSON.parse(message.data);
    } catch {
      return;
    }
    const item = h(
      'li',
      { class: `event ${e.type}`, 'data-type': e.type },
      h('span', { class: 'at' }, new Date(e.at).toLocaleTimeString()),
      h('span', { class: 'pill', style: `background:${EVENT_COLORS[e.type] ?? '#888'}` }, e.type),
      ` ${e.replica ?? e.service}`,
      e.reason ? h('span', { class: 'reason' }, ` ${e.reason}`) : null,
    );
    events.prepend(item);
    while (events.children.length > MAX_EVENTS) events.lastChild.remove();
    // Coalesce bursts of events into one refresh of the table.
    pending ??= window.setTimeout(() => {
      pending = null;
      if (!stopped) void refreshReplicas();
    }, 200);
  };
  source.onerror = () => {
    status.textContent = 'event stream interrupted; reconnecting…';
  };

  void refreshReplicas();
  void refreshResilience();
  void refreshAlerts();
  const timer = window.setInterval(() => {
    void refreshReplicas();
    void refreshResilience();
    void refreshAlerts();
  }, 5000);
  return () => {
    stopped = true;
    source.close();
    window.clearInterval(timer);
  };
}
