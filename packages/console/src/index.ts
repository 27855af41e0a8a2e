export { startConsole, type ConsoleOptions, type ConsoleHandle } from './server.ts';
export { createConsoleApp, type ConsoleDeps } from './app.ts';
export { renderReportHtml } from './report-html.ts';
export type { ChaosReportLike } from './report-types.ts';
// The dashboard model and Grafana's query semantics, as the console's browser code uses them (shared/);
// monitoring/test sends every panel query to a real Prometheus with them.
export type { Dashboard, Panel, TemplateVariable } from './shared/dashboard-model.ts';
export { variableQuery } from './shared/dashboard-model.ts';
export {
  formatPromDuration,
  intervalMs,
  parseDurationMs,
  rateIntervalMs,
  stepSeconds,
} from './shared/interval.ts';
export { ALL, interpolate, parseLabelValuesQuery, type VariableValue } from './shared/variables.ts';
