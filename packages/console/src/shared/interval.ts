/**
 * Grafana's query intervals, for the dashboards' `$__interval`, `$__rate_interval` and `$__range`.
 * Pure: shared by the server, the browser (served with its types stripped) and the unit tests.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Parses a Prometheus/Grafana duration (`5s`, `1m30s`, `250ms`, `2h`) into milliseconds. */
export function parseDurationMs(text: string): number {
  const trimmed = text.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let matched = 0;
  for (let m = part.exec(trimmed); m !== null; m = part.exec(trimmed)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = part.lastIndex;
  }
  if (trimmed === '' || matched !== trimmed.length) {
    throw new Error(`"${text}" is not a duration: expected e.g. 5s, 1m30s, 250ms, 2h`);
  }
  return total;
}

/**
 * Rounds a raw interval to the "nice" value Grafana picks (`roundInterval` in Grafana's
 * packages/grafana-data/src/datetime/rangeutil.ts): each entry reads "below `below` ms, use `ms`".
 */
const NICE_INTERVALS: ReadonlyArray<{ below: number; ms: number }> = [
  { below: 10, ms: 1 },
  { below: 15, ms: 10 },
  { below: 35, ms: 20 },
  { below: 75, ms: 50 },
  { below: 150, ms: 100 },
  { below: 350, ms: 200 },
  { below: 750, ms: 500 },
  { below: 1_500, ms: 1_000 },
  { below: 3_500, ms: 2_000 },
  { below: 7_500, ms: 5_000 },
  { below: 12_500, ms: 10_000 },
  { below: 17_500, ms: 15_000 },
  { below: 25_000, ms: 20_000 },
  { below: 45_000, ms: 30_000 },
  { below: 90_000, ms: 60_000 },
  { below: 210_000, ms: 120_000 },
  { below: 450_000, ms: 300_000 },
  { below: 750_000, ms: 600_000 },
  { below: 1_050_000, ms: 900_000 },
  { below: 1_500_000, ms: 1_200_000 },
  { below: 2_700_000, ms: 1_800_000 },
  { below: 5_400_000, ms: 3_600_000 },
  { below: 9_000_000, ms: 7_200_000 },
  { below: 16_200_000, ms: 10_800_000 },
  { below: 32_400_000, ms: 21_600_000 },
  { below: 86_400_000, ms: 43_200_000 },
  { below: 604_800_000, ms: 86_400_000 },
  { below: 1_814_400_000, ms: 604_800_000 },
  { below: 3_628_800_000, ms: 2_592_000_000 },
];

export function roundIntervalMs(rawMs: number): number {
  return NICE_INTERVALS.find((n) => rawMs < n.below)?.ms ?? 31_536_000_000;
}

/**
 * `$__interval`: the time range divided by the panel's max data points (its width in pixels by
 * default), rounded as Grafana rounds it, never below the data source's minimum interval (for
 * Prometheus, its scrape interval).
 */
export function intervalMs(rangeMs: number, maxDataPoints: number, minIntervalMs: number): number {
  if (!(rangeMs > 0)) throw new Error(`time range must be positive, got ${rangeMs} ms`);
  if (!(maxDataPoints >= 1)) throw new Error(`max data points must be at least 1, got ${maxDataPoints}`);
  return Math.max(roundIntervalMs(rangeMs / maxDataPoints), minIntervalMs);
}

/**
 * `$__rate_interval` = max(`$__interval` + scrape interval, 4 × scrape interval): Grafana's rule
 * (blog "New in Grafana 7.2: $__rate_interval for Prometheus rate queries that just work",
 * 2020-09-28; restored in grafana/grafana#77234). Four scrapes give rate() at least two samples
 * even with a missed scrape; adding one scrape to the step keeps adjacent windows overlapping.
 */
export function rateIntervalMs(interval: number, scrapeIntervalMs: number): number {
  return Math.max(interval + scrapeIntervalMs, 4 * scrapeIntervalMs);
}

/**
 * Formats milliseconds as Grafana's Prometheus data source writes its built-ins: whole seconds as
 * `<n>s` (`75s`, `1800s`), anything finer as `<n>ms`.
 */
export function formatPromDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`duration must be positive, got ${ms}`);
  const rounded = Math.round(ms);
  return rounded % 1000 === 0 ? `${rounded / 1000}s` : `${rounded}ms`;
}

/**
 * The `step` of a range query: the interval, but no more than Prometheus's 11,000 points per
 * series (Grafana raises the step the same way), in whole seconds.
 */
export function stepSeconds(rangeMs: number, interval: number): number {
  return Math.max(Math.ceil(interval / 1000), Math.ceil(rangeMs / 1000 / 11_000), 1);
}

/** Start and end aligned to the step, as Grafana does, so consecutive refreshes reuse the same grid. */
export function alignRange(fromMs: number, toMs: number, step: number): { start: number; end: number } {
  return { start: Math.floor(fromMs / 1000 / step) * step, end: Math.ceil(toMs / 1000 / step) * step };
}
