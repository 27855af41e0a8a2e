import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportView } from './report-model.ts';
import type { ChaosReportLike } from './report-types.ts';
import { UPLOT_DIST, WEB_DIR } from './static-assets.ts';

let assets: { uplotJs: string; uplotCss: string; client: string; css: string } | undefined;

function loadAssets(): NonNullable<typeof assets> {
  assets ??= {
    uplotJs: readFileSync(join(UPLOT_DIST, 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(join(UPLOT_DIST, 'uPlot.min.css'), 'utf8'),
    client: readFileSync(join(WEB_DIR, 'report-client.js'), 'utf8'),
    css: readFileSync(join(WEB_DIR, 'report.css'), 'utf8'),
  };
  return assets;
}

/** Text safe inside <script>: no `</script`, no `<!--`. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * One self-contained HTML page for a chaos report: uPlot, the drawing script, the styles and the data
 * are inlined, so it opens from disk or a CI artifact with no network. Throws on input that is not
 * a chaos report.
 */
export function renderReportHtml(report: ChaosReportLike): string {
  const view = reportView(report);
  const a = loadAssets();
  // JSON inside a script of type application/json: only `<` needs escaping to keep the HTML parser out.
  const data = JSON.stringify(view).replace(/</g, '\\u003c');
  const title = `Chaos report: ${view.experiment} — ${view.verdict.passed ? 'PASS' : 'FAIL'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${a.uplotCss}</style>
<style>${a.css}</style>
</head>
<body>
<main class="report" id="report"><h1>${escapeHtml(title)}</h1><noscript>The charts need JavaScript; the verdict: ${view.verdict.passed ? 'PASS' : 'FAIL'}.</noscript></main>
<script type="application/json" id="report-data">${data}</script>
<script>${scriptSafe(a.uplotJs)}</script>
<script>${scriptSafe(a.client)}</script>
<script>window.renderChaosReport(JSON.parse(document.getElementById('report-data').textContent), document.getElementById('report'));</script>
</body>
</html>
`;
}
