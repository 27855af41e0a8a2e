export { startLoad, MAX_RATE, MAX_DURATION_MS } from './load.ts';
export type { LoadHandle, LoadOptions, LoadReport, LoadSnapshot } from './load.ts';
export { Percentiles, percentile, percentilesOf, summarise } from './percentiles.ts';
export type { LatencySummary, PercentilesOptions } from './percentiles.ts';
export { localUrl } from './target.ts';
export { DEFAULT_PRODUCTS, fetchProducts, randomOrder } from './order-body.ts';
export { progressLine, summaryText } from './report-format.ts';
export { formatDuration, parseDuration } from './duration.ts';
