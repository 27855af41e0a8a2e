/* global document, window */
// The console's shell: the nav and a hash router (#/d/<uid>, #/live, #/chaos, #/traces[/<traceId>]).
import { showDashboard } from './dashboards.js';
import { showLive } from './live.js';
import { showChaos } from './chaos.js';
import { showTraces } from './traces.js';
import { getJson } from './http.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const controls = document.getElementById('controls');
const banner = document.getElementById('banner');
let stopCurrent = () => {};

async function start() {
  const [settings, list] = await Promise.all([getJson('/api/settings'), getJson('/api/dashboards')]);
  if (!settings.prometheus.available) {
    banner.hidden = false;
    banner.textContent = `No Prometheus: ${settings.prometheus.detail}. Dashboards and circuit states need it; the live view works without. ${settings.prometheus.install}`;
  }
  const links = [
    ...list.items.map((d) => ({ href: `#/d/${d.uid}`, text: d.title })),
    { href: '#/live', text: 'Live platform' },
    { href: '#/chaos', text: 'Chaos' },
    { href: '#/traces', text: 'Traces' },
  ];
  nav.replaceChildren(
    ...links.map((l) => {
      const a = document.createElement('a');
      a.href = l.href;
      a.textContent = l.text;
      return a;
    }),
  );
  const route = () => {
    stopCurrent();
    controls.replaceChildren();
    main.replaceChildren();
    const hash = window.location.hash || `#/d/${list.items[0]?.uid ?? ''}`;
    for (const a of nav.querySelectorAll('a'))
      a.classList.toggle('active', hash.startsWith(a.getAttribute('href')));
    const ctx = { main, controls, settings };
    const d = /^#\/d\/([^?]+)/.exec(hash);
    if (d) stopCurrent = showDashboard(ctx, decodeURIComponent(d[1]));
    else if (hash.startsWith('#/live')) stopCurrent = showLive(ctx);
    else if (hash.startsWith('#/chaos')) stopCurrent = showChaos(ctx);
    else if (hash.startsWith('#/traces')) stopCurrent = showTraces(ctx, hash);
    else main.textContent = `Unknown page ${hash}`;
  };
  window.addEventListener('hashchange', route);
  route();
}

start().catch((error) => {
  main.textContent = `The console could not start: ${error.message}`;
});
