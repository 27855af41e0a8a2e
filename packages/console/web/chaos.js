/* global document */
// The chaos page: a running experiment as it happens (order rate and latency with kill markers), then
// the last report, the same page `pnpm chaos run` writes as report.html, rendered by the server.
import { getJson, HttpProblem } from './http.js';
import { showChaosLive } from './chaos-live.js';

export function showChaos({ main, settings }) {
  const stopLive = showChaosLive(main, settings);
  const box = document.createElement('section');
  box.className = 'chaos';
  const heading = document.createElement('h2');
  heading.textContent = 'Last chaos report';
  main.append(heading, box);
  getJson('/api/chaos/report')
    .then(() => {
      const frame = document.createElement('iframe');
      frame.className = 'report-frame';
      frame.src = '/api/chaos/report.html';
      frame.title = 'chaos report';
      const link = document.createElement('a');
      link.href = '/api/chaos/report.html';
      link.target = '_blank';
      link.textContent = 'open the report on its own';
      box.append(link, frame);
    })
    .catch((error) => {
      box.textContent =
        error instanceof HttpProblem && error.status === 404
          ? error.message
          : `Could not read the report: ${error.message}`;
    });
  return stopLive;
}
