/* global document */
// The last chaos run: the same page `pnpm chaos run` writes as report.html, rendered by the server.
import { getJson, HttpProblem } from './http.js';

export function showChaos({ main }) {
  const box = document.createElement('section');
  box.className = 'chaos';
  main.append(box);
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
  return () => {};
}
