export { startLoad, MAX_RATE, MAX_DURATION_MS } from './load.ts';
export type { LoadHandle, LoadOptions, LoadReport, LoadSnapshot } from './load.ts';
export { percentile, summarise } from './percentiles.ts';
export type { LatencySummary } from './percentiles.ts';
export { localUrl } from './target.ts';
export { DEFAULT_PRODUCTS, fetchProducts, randomOrder } from './order-body.ts';
export { parseDuration, progressLine, summaryText } from './report-format.ts';
