export { startConsole, type ConsoleOptions, type ConsoleHandle } from './server.ts';
export { createConsoleApp, type ConsoleDeps } from './app.ts';
export { renderReportHtml } from './report-html.ts';
export type { ChaosReportLike } from './report-types.ts';
